package win32

import (
	"testing"
	"unsafe"
)

// Sizes and offsets from the Windows SDK headers for 64-bit Windows (amd64
// and arm64 share them). Go lays structs out the same way on every 64-bit
// GOARCH, so these tests also prove the layout on Linux amd64/arm64.
func TestTypes_LayoutMatchesWindowsSDK64(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("layouts are checked for 64-bit targets; the backend's WFP code builds only there")
	}
	var (
		sei  ShellExecuteInfo
		ui1  UserInfo1
		fil  FwpmFilter0
		cond FwpmFilterCondition0
		ses  FwpmSession0
		sub  FwpmSublayer0
		prov FwpmProvider0
		act  FwpmAction0
		val  FwpValue0
		blob FwpByteBlob
	)
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"SHELLEXECUTEINFOW size", unsafe.Sizeof(sei), 112},
		{"SHELLEXECUTEINFOW.nShow", unsafe.Offsetof(sei.Show), 48},
		{"SHELLEXECUTEINFOW.dwHotKey", unsafe.Offsetof(sei.HotKey), 88},
		{"SHELLEXECUTEINFOW.hProcess", unsafe.Offsetof(sei.Process), 104},
		{"USER_INFO_1 size", unsafe.Sizeof(ui1), 56},
		{"USER_INFO_1.usri1_priv", unsafe.Offsetof(ui1.Priv), 20},
		{"USER_INFO_1.usri1_home_dir", unsafe.Offsetof(ui1.HomeDir), 24},
		{"USER_INFO_1.usri1_flags", unsafe.Offsetof(ui1.Flags), 40},
		{"USER_INFO_1.usri1_script_path", unsafe.Offsetof(ui1.ScriptPath), 48},
		{"LOCALGROUP_INFO_1 size", unsafe.Sizeof(LocalGroupInfo1{}), 16},
		{"LOCALGROUP_MEMBERS_INFO_3 size", unsafe.Sizeof(LocalGroupMembersInfo3{}), 8},
		{"JOBOBJECT_CPU_RATE_CONTROL_INFORMATION size", unsafe.Sizeof(JobObjectCPURateControlInformation{}), 8},
		{"GUID size", unsafe.Sizeof(GUID{}), 16},
		{"FWP_BYTE_BLOB size", unsafe.Sizeof(blob), 16},
		{"FWP_BYTE_BLOB.data", unsafe.Offsetof(blob.Data), 8},
		{"FWP_VALUE0 size", unsafe.Sizeof(val), 16},
		{"FWP_VALUE0 union", unsafe.Offsetof(val.Value), 8},
		{"FWPM_DISPLAY_DATA0 size", unsafe.Sizeof(FwpmDisplayData0{}), 16},
		{"FWPM_ACTION0 size", unsafe.Sizeof(act), 20},
		{"FWPM_ACTION0.filterType", unsafe.Offsetof(act.FilterType), 4},
		{"FWPM_FILTER_CONDITION0 size", unsafe.Sizeof(cond), 40},
		{"FWPM_FILTER_CONDITION0.matchType", unsafe.Offsetof(cond.MatchType), 16},
		{"FWPM_FILTER_CONDITION0.conditionValue", unsafe.Offsetof(cond.ConditionValue), 24},
		{"FWPM_FILTER0 size", unsafe.Sizeof(fil), 200},
		{"FWPM_FILTER0.displayData", unsafe.Offsetof(fil.DisplayData), 16},
		{"FWPM_FILTER0.flags", unsafe.Offsetof(fil.Flags), 32},
		{"FWPM_FILTER0.providerKey", unsafe.Offsetof(fil.ProviderKey), 40},
		{"FWPM_FILTER0.providerData", unsafe.Offsetof(fil.ProviderData), 48},
		{"FWPM_FILTER0.layerKey", unsafe.Offsetof(fil.LayerKey), 64},
		{"FWPM_FILTER0.subLayerKey", unsafe.Offsetof(fil.SubLayerKey), 80},
		{"FWPM_FILTER0.weight", unsafe.Offsetof(fil.Weight), 96},
		{"FWPM_FILTER0.numFilterConditions", unsafe.Offsetof(fil.NumFilterConditions), 112},
		{"FWPM_FILTER0.filterCondition", unsafe.Offsetof(fil.FilterCondition), 120},
		{"FWPM_FILTER0.action", unsafe.Offsetof(fil.Action), 128},
		{"FWPM_FILTER0.providerContextKey", unsafe.Offsetof(fil.ProviderContext), 152},
		{"FWPM_FILTER0.reserved", unsafe.Offsetof(fil.Reserved), 168},
		{"FWPM_FILTER0.filterId", unsafe.Offsetof(fil.FilterID), 176},
		{"FWPM_FILTER0.effectiveWeight", unsafe.Offsetof(fil.EffectiveWeight), 184},
		{"FWPM_SESSION0 size", unsafe.Sizeof(ses), 72},
		{"FWPM_SESSION0.flags", unsafe.Offsetof(ses.Flags), 32},
		{"FWPM_SESSION0.processId", unsafe.Offsetof(ses.ProcessID), 40},
		{"FWPM_SESSION0.sid", unsafe.Offsetof(ses.SID), 48},
		{"FWPM_SESSION0.kernelMode", unsafe.Offsetof(ses.KernelMode), 64},
		{"FWPM_SUBLAYER0 size", unsafe.Sizeof(sub), 72},
		{"FWPM_SUBLAYER0.providerKey", unsafe.Offsetof(sub.ProviderKey), 40},
		{"FWPM_SUBLAYER0.providerData", unsafe.Offsetof(sub.ProviderData), 48},
		{"FWPM_SUBLAYER0.weight", unsafe.Offsetof(sub.Weight), 64},
		{"FWPM_PROVIDER0 size", unsafe.Sizeof(prov), 64},
		{"FWPM_PROVIDER0.flags", unsafe.Offsetof(prov.Flags), 32},
		{"FWPM_PROVIDER0.providerData", unsafe.Offsetof(prov.ProviderData), 40},
		{"FWPM_PROVIDER0.serviceName", unsafe.Offsetof(prov.ServiceName), 56},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}
