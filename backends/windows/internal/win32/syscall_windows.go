//go:build windows

package win32

// The types named windows.X below are golang.org/x/sys/windows types; the
// generated file imports that package.

// Tokens and logon.

// https://learn.microsoft.com/en-us/windows/win32/api/securitybaseapi/nf-securitybaseapi-createrestrictedtoken
//sys CreateRestrictedToken(existing windows.Token, flags uint32, disableSidCount uint32, sidsToDisable *windows.SIDAndAttributes, deletePrivilegeCount uint32, privilegesToDelete *windows.LUIDAndAttributes, restrictedSidCount uint32, sidsToRestrict *windows.SIDAndAttributes, newToken *windows.Token) (err error) = advapi32.CreateRestrictedToken

// https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-createprocesswithlogonw
//sys CreateProcessWithLogon(username *uint16, domain *uint16, password *uint16, logonFlags uint32, appName *uint16, commandLine *uint16, creationFlags uint32, env *uint16, currentDir *uint16, startupInfo *windows.StartupInfo, procInfo *windows.ProcessInformation) (err error) = advapi32.CreateProcessWithLogonW

// https://learn.microsoft.com/en-us/windows/win32/api/userenv/nf-userenv-deleteprofilew
//sys DeleteProfile(sid *uint16, profilePath *uint16, computerName *uint16) (err error) = userenv.DeleteProfileW

// Local accounts. These return a NET_API_STATUS (0 on success).

// https://learn.microsoft.com/en-us/windows/win32/api/lmaccess/nf-lmaccess-netuseradd
//sys NetUserAdd(serverName *uint16, level uint32, buf *byte, parmErr *uint32) (neterr error) = netapi32.NetUserAdd

// https://learn.microsoft.com/en-us/windows/win32/api/lmaccess/nf-lmaccess-netuserdel
//sys NetUserDel(serverName *uint16, userName *uint16) (neterr error) = netapi32.NetUserDel

// https://learn.microsoft.com/en-us/windows/win32/api/lmaccess/nf-lmaccess-netusersetinfo
//sys NetUserSetInfo(serverName *uint16, userName *uint16, level uint32, buf *byte, parmErr *uint32) (neterr error) = netapi32.NetUserSetInfo

// https://learn.microsoft.com/en-us/windows/win32/api/lmaccess/nf-lmaccess-netlocalgroupadd
//sys NetLocalGroupAdd(serverName *uint16, level uint32, buf *byte, parmErr *uint32) (neterr error) = netapi32.NetLocalGroupAdd

// https://learn.microsoft.com/en-us/windows/win32/api/lmaccess/nf-lmaccess-netlocalgroupdel
//sys NetLocalGroupDel(serverName *uint16, groupName *uint16) (neterr error) = netapi32.NetLocalGroupDel

// https://learn.microsoft.com/en-us/windows/win32/api/lmaccess/nf-lmaccess-netlocalgroupaddmembers
//sys NetLocalGroupAddMembers(serverName *uint16, groupName *uint16, level uint32, buf *byte, totalEntries uint32) (neterr error) = netapi32.NetLocalGroupAddMembers

// Elevation.

// https://learn.microsoft.com/en-us/windows/win32/api/shellapi/nf-shellapi-shellexecuteexw
//sys ShellExecuteEx(info *ShellExecuteInfo) (err error) = shell32.ShellExecuteExW

// Desktops.

// https://learn.microsoft.com/en-us/windows/win32/api/winuser/nf-winuser-createdesktopw
//sys CreateDesktop(desktop *uint16, device *uint16, devmode uintptr, flags uint32, desiredAccess uint32, sa *windows.SecurityAttributes) (h windows.Handle, err error) = user32.CreateDesktopW

// https://learn.microsoft.com/en-us/windows/win32/api/winuser/nf-winuser-closedesktop
//sys CloseDesktop(h windows.Handle) (err error) = user32.CloseDesktop

// https://learn.microsoft.com/en-us/windows/win32/api/winuser/nf-winuser-getprocesswindowstation
//sys GetProcessWindowStation() (h windows.Handle, err error) = user32.GetProcessWindowStation

// Windows Filtering Platform. These return a DWORD error code (0 on
// success).

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmengineopen0
//sys FwpmEngineOpen0(serverName *uint16, authnService uint32, authIdentity uintptr, session *FwpmSession0, engine *windows.Handle) (ret error) = fwpuclnt.FwpmEngineOpen0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmengineclose0
//sys FwpmEngineClose0(engine windows.Handle) (ret error) = fwpuclnt.FwpmEngineClose0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmtransactionbegin0
//sys FwpmTransactionBegin0(engine windows.Handle, flags uint32) (ret error) = fwpuclnt.FwpmTransactionBegin0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmtransactioncommit0
//sys FwpmTransactionCommit0(engine windows.Handle) (ret error) = fwpuclnt.FwpmTransactionCommit0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmtransactionabort0
//sys FwpmTransactionAbort0(engine windows.Handle) (ret error) = fwpuclnt.FwpmTransactionAbort0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmprovideradd0
//sys FwpmProviderAdd0(engine windows.Handle, provider *FwpmProvider0, sd uintptr) (ret error) = fwpuclnt.FwpmProviderAdd0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmproviderdeletebykey0
//sys FwpmProviderDeleteByKey0(engine windows.Handle, key *GUID) (ret error) = fwpuclnt.FwpmProviderDeleteByKey0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmsublayeradd0
//sys FwpmSubLayerAdd0(engine windows.Handle, subLayer *FwpmSublayer0, sd uintptr) (ret error) = fwpuclnt.FwpmSubLayerAdd0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmsublayerdeletebykey0
//sys FwpmSubLayerDeleteByKey0(engine windows.Handle, key *GUID) (ret error) = fwpuclnt.FwpmSubLayerDeleteByKey0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmfilteradd0
//sys FwpmFilterAdd0(engine windows.Handle, filter *FwpmFilter0, sd uintptr, id *uint64) (ret error) = fwpuclnt.FwpmFilterAdd0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmfilterdeletebykey0
//sys FwpmFilterDeleteByKey0(engine windows.Handle, key *GUID) (ret error) = fwpuclnt.FwpmFilterDeleteByKey0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmfiltergetbykey0
//sys FwpmFilterGetByKey0(engine windows.Handle, key *GUID, filter **FwpmFilter0) (ret error) = fwpuclnt.FwpmFilterGetByKey0

// https://learn.microsoft.com/en-us/windows/win32/api/fwpmu/nf-fwpmu-fwpmfreememory0
//sys FwpmFreeMemory0(p *uintptr) = fwpuclnt.FwpmFreeMemory0
