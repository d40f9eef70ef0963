//go:build windows && (amd64 || arm64)

package windows

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/sbxdev/sbx/backends/windows/internal/win32"
	xw "golang.org/x/sys/windows"
)

// WFP objects of sbx. Persistent (they survive reboots until undone), owned
// by sbx's provider, in sbx's sublayer, with fixed keys so that status and
// undo find them without enumerating.
//
// Why WFP and not Windows Firewall rules (INetFwRule with
// LocalUserAuthorizedList): the filters do not depend on the Windows
// Firewall service being on (a third-party firewall turns it off, but the
// Base Filtering Engine always runs); they are installed and removed in one
// transaction with no COM; and they are removable by key, so undo is
// exact. A block with its action right cleared cannot be overridden by a
// permit in another sublayer.
var (
	wfpProviderKey = win32.GUID{Data1: 0x5b5c1a2e, Data2: 0x7d3f, Data3: 0x4c1b, Data4: [8]byte{0x9a, 0x61, 0x53, 0x42, 0x58, 0x00, 0x00, 0x01}}
	wfpSublayerKey = win32.GUID{Data1: 0x5b5c1a2e, Data2: 0x7d3f, Data3: 0x4c1b, Data4: [8]byte{0x9a, 0x61, 0x53, 0x42, 0x58, 0x00, 0x00, 0x02}}
	// One filter key per layer, in the order of PlanFilters.
	wfpFilterKeys = map[string]win32.GUID{
		"ALE_AUTH_CONNECT_V4":     {Data1: 0x5b5c1a2e, Data2: 0x7d3f, Data3: 0x4c1b, Data4: [8]byte{0x9a, 0x61, 0x53, 0x42, 0x58, 0x00, 0x01, 0x04}},
		"ALE_AUTH_CONNECT_V6":     {Data1: 0x5b5c1a2e, Data2: 0x7d3f, Data3: 0x4c1b, Data4: [8]byte{0x9a, 0x61, 0x53, 0x42, 0x58, 0x00, 0x01, 0x06}},
		"ALE_AUTH_RECV_ACCEPT_V4": {Data1: 0x5b5c1a2e, Data2: 0x7d3f, Data3: 0x4c1b, Data4: [8]byte{0x9a, 0x61, 0x53, 0x42, 0x58, 0x00, 0x02, 0x04}},
		"ALE_AUTH_RECV_ACCEPT_V6": {Data1: 0x5b5c1a2e, Data2: 0x7d3f, Data3: 0x4c1b, Data4: [8]byte{0x9a, 0x61, 0x53, 0x42, 0x58, 0x00, 0x02, 0x06}},
	}
	// Layer keys (fwpmu.h).
	wfpLayers = map[string]win32.GUID{
		"ALE_AUTH_CONNECT_V4":     {Data1: 0xc38d57d1, Data2: 0x05a7, Data3: 0x4c33, Data4: [8]byte{0x90, 0x4f, 0x7f, 0xbc, 0xee, 0xe6, 0x0e, 0x82}},
		"ALE_AUTH_CONNECT_V6":     {Data1: 0x4a72393b, Data2: 0x319f, Data3: 0x44bc, Data4: [8]byte{0x84, 0xc3, 0xba, 0x54, 0xdc, 0xb3, 0xb6, 0xb4}},
		"ALE_AUTH_RECV_ACCEPT_V4": {Data1: 0xe1cd9fe7, Data2: 0xf4b5, Data3: 0x4273, Data4: [8]byte{0x96, 0xc0, 0x59, 0x2e, 0x48, 0x7b, 0x86, 0x50}},
		"ALE_AUTH_RECV_ACCEPT_V6": {Data1: 0xa3b42c97, Data2: 0x9f04, Data3: 0x4672, Data4: [8]byte{0xb8, 0x7e, 0xce, 0xe9, 0xc4, 0x83, 0x25, 0x7f}},
	}
	// FWPM_CONDITION_ALE_USER_ID (fwpmu.h).
	wfpConditionALEUserID = win32.GUID{Data1: 0xaf043a0a, Data2: 0xb34d, Data3: 0x4f86, Data4: [8]byte{0x97, 0x9c, 0xc9, 0x03, 0x71, 0xaf, 0x6e, 0x66}}
)

// winFirewall implements FirewallAPI with WFP.
type winFirewall struct{}

func wfpOpen() (xw.Handle, error) {
	var engine xw.Handle
	session := win32.FwpmSession0{TxnWaitTimeoutInMSec: 30000}
	if err := win32.FwpmEngineOpen0(nil, win32.RPC_C_AUTHN_WINNT, 0, &session, &engine); err != nil {
		return 0, fmt.Errorf("FwpmEngineOpen0: %w", err)
	}
	return engine, nil
}

func wfpIgnore(err error, codes ...uint32) error {
	var e xw.Errno
	if errors.As(err, &e) {
		for _, c := range codes {
			if uint32(e) == c {
				return nil
			}
		}
	}
	return err
}

// Install adds the provider, the sublayer and the filters in one
// transaction, aborted on any error.
func (winFirewall) Install(filters []WFPFilter) (err error) {
	engine, err := wfpOpen()
	if err != nil {
		return err
	}
	defer win32.FwpmEngineClose0(engine)
	if err := win32.FwpmTransactionBegin0(engine, 0); err != nil {
		return fmt.Errorf("FwpmTransactionBegin0: %w", err)
	}
	defer func() {
		if err != nil {
			win32.FwpmTransactionAbort0(engine)
		}
	}()
	prov := win32.FwpmProvider0{ProviderKey: wfpProviderKey, Flags: win32.FWPM_PROVIDER_FLAG_PERSISTENT,
		DisplayData: win32.FwpmDisplayData0{Name: utf16("sbx"), Description: utf16("sbx sandbox network blocks")}}
	if err := wfpIgnore(win32.FwpmProviderAdd0(engine, &prov, 0), win32.FWP_E_ALREADY_EXISTS); err != nil {
		return fmt.Errorf("FwpmProviderAdd0: %w", err)
	}
	pk := wfpProviderKey
	sub := win32.FwpmSublayer0{SubLayerKey: wfpSublayerKey, Flags: win32.FWPM_SUBLAYER_FLAG_PERSISTENT, ProviderKey: &pk, Weight: 0xFFFF,
		DisplayData: win32.FwpmDisplayData0{Name: utf16("sbx"), Description: utf16("sbx sandbox network blocks")}}
	if err := wfpIgnore(win32.FwpmSubLayerAdd0(engine, &sub, 0), win32.FWP_E_ALREADY_EXISTS); err != nil {
		return fmt.Errorf("FwpmSubLayerAdd0: %w", err)
	}
	for _, f := range filters {
		if err := addFilter(engine, f); err != nil {
			return fmt.Errorf("filter %s: %w", f.Layer, err)
		}
	}
	if err := win32.FwpmTransactionCommit0(engine); err != nil {
		return fmt.Errorf("FwpmTransactionCommit0: %w", err)
	}
	return nil
}

// addFilter adds one BLOCK filter matching the sockets of the users its
// security descriptor grants FWP_ACTRL_MATCH_FILTER (CC) to.
func addFilter(engine xw.Handle, f WFPFilter) error {
	layer, ok1 := wfpLayers[f.Layer]
	key, ok2 := wfpFilterKeys[f.Layer]
	if !ok1 || !ok2 {
		return fmt.Errorf("unknown layer %q", f.Layer)
	}
	sd, err := xw.SecurityDescriptorFromString(f.UserSD)
	if err != nil {
		return fmt.Errorf("user SD %q: %w", f.UserSD, err)
	}
	// The SD is self-relative (one contiguous buffer on the Go heap).
	sdBytes := unsafe.Slice((*byte)(unsafe.Pointer(sd)), sd.Length())
	blob := win32.FwpByteBlob{Size: uint32(len(sdBytes)), Data: &sdBytes[0]}
	cond := win32.FwpmFilterCondition0{FieldKey: wfpConditionALEUserID, MatchType: win32.FWP_MATCH_EQUAL,
		ConditionValue: win32.FwpValue0{Type: win32.FWP_SECURITY_DESCRIPTOR_TYPE, Value: uintptr(unsafe.Pointer(&blob))}}
	pk := wfpProviderKey
	flt := win32.FwpmFilter0{
		FilterKey:   key,
		DisplayData: win32.FwpmDisplayData0{Name: utf16(f.Name), Description: utf16("sbx: offline sandbox user has no network")},
		Flags:       win32.FWPM_FILTER_FLAG_PERSISTENT | win32.FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT,
		ProviderKey: &pk, LayerKey: layer, SubLayerKey: wfpSublayerKey,
		Weight:              win32.FwpValue0{Type: win32.FWP_UINT8, Value: uintptr(f.Weight)},
		NumFilterConditions: 1, FilterCondition: &cond,
		Action: win32.FwpmAction0{Type: win32.FWP_ACTION_BLOCK},
	}
	var id uint64
	err = wfpIgnore(win32.FwpmFilterAdd0(engine, &flt, 0, &id), win32.FWP_E_ALREADY_EXISTS)
	runtime.KeepAlive(sd)
	runtime.KeepAlive(&blob)
	runtime.KeepAlive(&cond)
	return err
}

// Uninstall deletes the filters, the sublayer and the provider; missing
// objects are fine.
func (winFirewall) Uninstall() error {
	engine, err := wfpOpen()
	if err != nil {
		return err
	}
	defer win32.FwpmEngineClose0(engine)
	var errs []error
	for _, k := range wfpFilterKeys {
		errs = append(errs, wfpIgnore(win32.FwpmFilterDeleteByKey0(engine, &k), win32.FWP_E_FILTER_NOT_FOUND))
	}
	sk, pk := wfpSublayerKey, wfpProviderKey
	errs = append(errs, wfpIgnore(win32.FwpmSubLayerDeleteByKey0(engine, &sk), win32.FWP_E_SUBLAYER_NOT_FOUND))
	errs = append(errs, wfpIgnore(win32.FwpmProviderDeleteByKey0(engine, &pk), win32.FWP_E_PROVIDER_NOT_FOUND))
	return errors.Join(errs...)
}

// Installed counts sbx's filters present.
func (winFirewall) Installed() (int, error) {
	engine, err := wfpOpen()
	if err != nil {
		return 0, err
	}
	defer win32.FwpmEngineClose0(engine)
	n := 0
	for _, k := range wfpFilterKeys {
		var f *win32.FwpmFilter0
		if err := win32.FwpmFilterGetByKey0(engine, &k, &f); err == nil {
			n++
			p := uintptr(unsafe.Pointer(f))
			win32.FwpmFreeMemory0(&p)
		}
	}
	return n, nil
}
