package win32

// The structures below are the Win32 ones the declared functions take. They
// are written in portable Go (pointers and fixed-size integers only) so
// that types_test.go checks their layout on every 64-bit platform against
// the sizes and offsets of the Windows SDK headers. The WFP ones are only
// used on 64-bit Windows (see wfp_windows.go).

// GUID is a Windows GUID (guiddef.h).
// https://learn.microsoft.com/en-us/windows/win32/api/guiddef/ns-guiddef-guid
type GUID struct {
	Data1 uint32
	Data2 uint16
	Data3 uint16
	Data4 [8]byte
}

// ShellExecuteInfo is SHELLEXECUTEINFOW (shellapi.h).
// https://learn.microsoft.com/en-us/windows/win32/api/shellapi/ns-shellapi-shellexecuteinfow
type ShellExecuteInfo struct {
	CbSize     uint32
	Mask       uint32
	Hwnd       uintptr
	Verb       *uint16
	File       *uint16
	Parameters *uint16
	Directory  *uint16
	Show       int32
	InstApp    uintptr
	IDList     uintptr
	Class      *uint16
	KeyClass   uintptr
	HotKey     uint32
	IconOrMon  uintptr
	Process    uintptr
}

// ShellExecuteInfo masks and show modes.
const (
	SEE_MASK_NOCLOSEPROCESS = 0x00000040
	SEE_MASK_NOASYNC        = 0x00000100
	SW_HIDE                 = 0
)

// UserInfo1 is USER_INFO_1 (lmaccess.h).
// https://learn.microsoft.com/en-us/windows/win32/api/lmaccess/ns-lmaccess-user_info_1
type UserInfo1 struct {
	Name        *uint16
	Password    *uint16
	PasswordAge uint32
	Priv        uint32
	HomeDir     *uint16
	Comment     *uint16
	Flags       uint32
	ScriptPath  *uint16
}

// UserInfo1003 is USER_INFO_1003 (a new password).
// https://learn.microsoft.com/en-us/windows/win32/api/lmaccess/ns-lmaccess-user_info_1003
type UserInfo1003 struct {
	Password *uint16
}

// LocalGroupInfo1 is LOCALGROUP_INFO_1.
// https://learn.microsoft.com/en-us/windows/win32/api/lmaccess/ns-lmaccess-localgroup_info_1
type LocalGroupInfo1 struct {
	Name    *uint16
	Comment *uint16
}

// LocalGroupMembersInfo3 is LOCALGROUP_MEMBERS_INFO_3.
// https://learn.microsoft.com/en-us/windows/win32/api/lmaccess/ns-lmaccess-localgroup_members_info_3
type LocalGroupMembersInfo3 struct {
	DomainAndName *uint16
}

// NetAPI constants.
const (
	USER_PRIV_USER        = 1
	UF_SCRIPT             = 0x0001
	UF_DONT_EXPIRE_PASSWD = 0x10000
	UF_PASSWD_CANT_CHANGE = 0x0040
	NERR_UserExists       = 2224
	NERR_GroupExists      = 2223
	NERR_UserNotFound     = 2221
	NERR_GroupNotFound    = 2220
	ERROR_ALIAS_EXISTS    = 1379
	ERROR_MEMBER_IN_ALIAS = 1378
	ERROR_NO_SUCH_ALIAS   = 1376
)

// JobObjectCPURateControlInformation is
// JOBOBJECT_CPU_RATE_CONTROL_INFORMATION (winnt.h): ControlFlags and a
// union of CpuRate, Weight and {MinRate, MaxRate}; sbx uses CpuRate.
// https://learn.microsoft.com/en-us/windows/win32/api/winnt/ns-winnt-jobobject_cpu_rate_control_information
type JobObjectCPURateControlInformation struct {
	ControlFlags uint32
	CPURate      uint32
}

// JobObjectCpuRateControlInformation is the information class of
// SetInformationJobObject for the CPU rate.
const JobObjectCpuRateControlInformation = 15

// FwpmDisplayData0 is FWPM_DISPLAY_DATA0 (fwptypes.h).
// https://learn.microsoft.com/en-us/windows/win32/api/fwptypes/ns-fwptypes-fwpm_display_data0
type FwpmDisplayData0 struct {
	Name        *uint16
	Description *uint16
}

// FwpByteBlob is FWP_BYTE_BLOB (fwptypes.h).
// https://learn.microsoft.com/en-us/windows/win32/api/fwptypes/ns-fwptypes-fwp_byte_blob
type FwpByteBlob struct {
	Size uint32
	Data *byte
}

// FwpValue0 is FWP_VALUE0 and FWP_CONDITION_VALUE0: a type and a
// pointer-sized union (fwptypes.h).
// https://learn.microsoft.com/en-us/windows/win32/api/fwptypes/ns-fwptypes-fwp_value0
// https://learn.microsoft.com/en-us/windows/win32/api/fwptypes/ns-fwptypes-fwp_condition_value0
type FwpValue0 struct {
	Type  uint32
	Value uintptr
}

// FwpmFilterCondition0 is FWPM_FILTER_CONDITION0 (fwpmtypes.h).
// https://learn.microsoft.com/en-us/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_filter_condition0
type FwpmFilterCondition0 struct {
	FieldKey       GUID
	MatchType      uint32
	ConditionValue FwpValue0
}

// FwpmAction0 is FWPM_ACTION0 (fwpmtypes.h).
// https://learn.microsoft.com/en-us/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_action0
type FwpmAction0 struct {
	Type       uint32
	FilterType GUID
}

// FwpmFilter0 is FWPM_FILTER0 (fwpmtypes.h).
// https://learn.microsoft.com/en-us/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_filter0
type FwpmFilter0 struct {
	FilterKey           GUID
	DisplayData         FwpmDisplayData0
	Flags               uint32
	ProviderKey         *GUID
	ProviderData        FwpByteBlob
	LayerKey            GUID
	SubLayerKey         GUID
	Weight              FwpValue0
	NumFilterConditions uint32
	FilterCondition     *FwpmFilterCondition0
	Action              FwpmAction0
	// ProviderContext is the union { UINT64 rawContext; GUID
	// providerContextKey; }: 16 bytes aligned on 8.
	ProviderContext [2]uint64
	Reserved        *GUID
	FilterID        uint64
	EffectiveWeight FwpValue0
}

// FwpmSession0 is FWPM_SESSION0 (fwpmtypes.h).
// https://learn.microsoft.com/en-us/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_session0
type FwpmSession0 struct {
	SessionKey           GUID
	DisplayData          FwpmDisplayData0
	Flags                uint32
	TxnWaitTimeoutInMSec uint32
	ProcessID            uint32
	SID                  uintptr
	Username             *uint16
	KernelMode           int32
}

// FwpmSublayer0 is FWPM_SUBLAYER0 (fwpmtypes.h).
// https://learn.microsoft.com/en-us/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_sublayer0
type FwpmSublayer0 struct {
	SubLayerKey  GUID
	DisplayData  FwpmDisplayData0
	Flags        uint32
	ProviderKey  *GUID
	ProviderData FwpByteBlob
	Weight       uint16
}

// FwpmProvider0 is FWPM_PROVIDER0 (fwpmtypes.h).
// https://learn.microsoft.com/en-us/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_provider0
type FwpmProvider0 struct {
	ProviderKey  GUID
	DisplayData  FwpmDisplayData0
	Flags        uint32
	ProviderData FwpByteBlob
	ServiceName  *uint16
}

// WFP constants (fwptypes.h, fwpmtypes.h; FWP_E_* in winerror.h; RPC_C_AUTHN_* in rpcdce.h).
const (
	RPC_C_AUTHN_WINNT                   = 10
	FWPM_PROVIDER_FLAG_PERSISTENT       = 0x1
	FWPM_SUBLAYER_FLAG_PERSISTENT       = 0x1
	FWPM_FILTER_FLAG_PERSISTENT         = 0x1
	FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT = 0x8
	FWP_ACTION_FLAG_TERMINATING         = 0x1000
	FWP_ACTION_BLOCK                    = 0x1 | FWP_ACTION_FLAG_TERMINATING
	FWP_MATCH_EQUAL                     = 0
	FWP_UINT8                           = 1
	FWP_SECURITY_DESCRIPTOR_TYPE        = 14
	FWP_E_FILTER_NOT_FOUND              = 0x80320003
	FWP_E_PROVIDER_NOT_FOUND            = 0x80320005
	FWP_E_SUBLAYER_NOT_FOUND            = 0x80320007
	FWP_E_ALREADY_EXISTS                = 0x80320009
)
