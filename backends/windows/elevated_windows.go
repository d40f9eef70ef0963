//go:build windows

package windows

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unsafe"

	"github.com/sbxdev/sbx/backends/windows/internal/win32"
	xw "golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// credentialsPath is the DPAPI-encrypted credentials file of the real user.
func credentialsPath(f HostFacts) string { return winJoin(f.SecretsDir(), "credentials.json") }

// credentialsFile holds the sandbox users' passwords, each encrypted with
// CryptProtectData under the real user (user scope, UI forbidden) with a
// random entropy. The directory is created with a protected DACL that
// names only the real user and SYSTEM, so the sandbox users cannot read
// it; DPAPI binds the blobs to the real user's keys, so a copy is useless
// to another account.
type credentialsFile struct {
	Version int               `json:"version"`
	Entropy string            `json:"entropy"`
	Blobs   map[string]string `json:"blobs"`
}

func dpapiProtect(data, entropy []byte) ([]byte, error) {
	in := xw.DataBlob{Size: uint32(len(data)), Data: &data[0]}
	ent := xw.DataBlob{Size: uint32(len(entropy)), Data: &entropy[0]}
	var out xw.DataBlob
	desc, _ := xw.UTF16PtrFromString("sbx sandbox user")
	if err := xw.CryptProtectData(&in, desc, &ent, 0, nil, xw.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, fmt.Errorf("CryptProtectData: %w", err)
	}
	// The output buffer is LocalAlloc'd by the call: copy, then free.
	defer xw.LocalFree(xw.Handle(unsafe.Pointer(out.Data)))
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...), nil
}

func dpapiUnprotect(blob, entropy []byte) ([]byte, error) {
	in := xw.DataBlob{Size: uint32(len(blob)), Data: &blob[0]}
	ent := xw.DataBlob{Size: uint32(len(entropy)), Data: &entropy[0]}
	var out xw.DataBlob
	if err := xw.CryptUnprotectData(&in, nil, &ent, 0, nil, xw.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, fmt.Errorf("CryptUnprotectData: %w", err)
	}
	defer xw.LocalFree(xw.Handle(unsafe.Pointer(out.Data)))
	b := append([]byte(nil), unsafe.Slice(out.Data, out.Size)...)
	// Wipe the plaintext the system allocated before freeing it.
	clear(unsafe.Slice(out.Data, out.Size))
	return b, nil
}

// storeCredentials encrypts and writes the passwords.
func storeCredentials(f HostFacts, passwords map[string]string) error {
	if err := ensurePrivateDir(f.SecretsDir(), f.UserSID); err != nil {
		return err
	}
	entropy := []byte(NewNonce() + NewNonce())
	cf := credentialsFile{Version: 1, Entropy: base64.StdEncoding.EncodeToString(entropy), Blobs: map[string]string{}}
	for acct, pw := range passwords {
		blob, err := dpapiProtect([]byte(pw), entropy)
		if err != nil {
			return err
		}
		cf.Blobs[acct] = base64.StdEncoding.EncodeToString(blob)
	}
	b, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(credentialsPath(f), b)
}

// winCreds implements CredStore.
type winCreds struct{ f HostFacts }

// Password decrypts one account's password. It works only for the real
// user: DPAPI binds the blob to that user's master key.
func (c winCreds) Password(account string) (string, error) {
	b, err := os.ReadFile(credentialsPath(c.f))
	if err != nil {
		return "", err
	}
	var cf credentialsFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return "", fmt.Errorf("credentials file is corrupt: %w", err)
	}
	entropy, err1 := base64.StdEncoding.DecodeString(cf.Entropy)
	blob, err2 := base64.StdEncoding.DecodeString(cf.Blobs[account])
	if err1 != nil || err2 != nil || len(blob) == 0 || len(entropy) == 0 {
		return "", fmt.Errorf("no stored password for %s", account)
	}
	pw, err := dpapiUnprotect(blob, entropy)
	if err != nil {
		return "", err
	}
	return string(pw), nil
}

// winPipes implements PipeAPI with one synchronous duplex pipe instance.
type winPipes struct{}

type winListener struct {
	h    xw.Handle
	name string
}

// Listen creates the pipe: FILE_FLAG_FIRST_PIPE_INSTANCE fails if anyone
// created the name first (no squatting), one instance only (nobody can
// open a second), remote clients rejected, DACL applied at creation.
func (winPipes) Listen(name, sddl string) (PipeListener, error) {
	sa, err := securityAttributes(sddl)
	if err != nil {
		return nil, err
	}
	p, err := xw.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	h, err := xw.CreateNamedPipe(p, xw.PIPE_ACCESS_DUPLEX|xw.FILE_FLAG_FIRST_PIPE_INSTANCE,
		xw.PIPE_TYPE_BYTE|xw.PIPE_READMODE_BYTE|xw.PIPE_WAIT|xw.PIPE_REJECT_REMOTE_CLIENTS, 1, 64<<10, 64<<10, 0, sa)
	if err != nil {
		return nil, fmt.Errorf("CreateNamedPipe(%s): %w", name, err)
	}
	return &winListener{h: h, name: name}, nil
}

// Accept waits in ConnectNamedPipe. On ctx's end it unblocks the wait by
// connecting to the pipe itself; that connection's PID is this process, so
// the caller's PID check refuses it.
func (l *winListener) Accept(ctx context.Context) (io.ReadWriteCloser, uint32, error) {
	done := make(chan error, 1)
	go func() {
		err := xw.ConnectNamedPipe(l.h, nil)
		if errors.Is(err, xw.ERROR_PIPE_CONNECTED) {
			err = nil
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return nil, 0, err
		}
	case <-ctx.Done():
		if p, err := xw.UTF16PtrFromString(l.name); err == nil {
			if h, err := xw.CreateFile(p, xw.GENERIC_READ, 0, nil, xw.OPEN_EXISTING, 0, 0); err == nil {
				defer xw.CloseHandle(h)
			}
		}
		<-done
		return nil, 0, ctx.Err()
	}
	var pid uint32
	if err := xw.GetNamedPipeClientProcessId(l.h, &pid); err != nil {
		return nil, 0, err
	}
	f := os.NewFile(uintptr(l.h), l.name)
	l.h = 0 // owned by f now
	return f, pid, nil
}

// Close closes the pipe if Accept did not hand it over.
func (l *winListener) Close() error {
	if l.h == 0 {
		return nil
	}
	err := xw.CloseHandle(l.h)
	l.h = 0
	return err
}

// dialRunnerPipe is the runner's side: open the pipe with an
// identification-only impersonation level, so the server cannot act as
// the sandbox user.
func dialRunnerPipe(name string) (*os.File, error) {
	p, err := xw.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	h, err := xw.CreateFile(p, xw.GENERIC_READ|xw.GENERIC_WRITE, 0, nil, xw.OPEN_EXISTING,
		xw.SECURITY_SQOS_PRESENT|xw.SECURITY_IDENTIFICATION, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return os.NewFile(uintptr(h), name), nil
}

// winLogon implements LogonAPI.
type winLogon struct{}

// StartRunner starts the runner suspended, without a window, with the
// sandbox user's profile environment (lpEnvironment NULL).
func (winLogon) StartRunner(account, password string, argv []string, dir string) (Process, error) {
	return logonProcess(account, password, argv, dir, CreateSuspended|CreateNoWindow|CreateUnicodeEnvironment)
}

// logonProcess calls CreateProcessWithLogonW with LOGON_WITH_PROFILE and
// wipes the UTF-16 copy of the password afterwards.
func logonProcess(account, password string, argv []string, dir string, flags uint32) (Process, error) {
	user, err := xw.UTF16PtrFromString(account)
	if err != nil {
		return Process{}, err
	}
	domain, _ := xw.UTF16PtrFromString(".")
	pw, err := xw.UTF16FromString(password)
	if err != nil {
		return Process{}, err
	}
	defer clear(pw)
	app, err := xw.UTF16PtrFromString(argv[0])
	if err != nil {
		return Process{}, err
	}
	cmd, err := xw.UTF16PtrFromString(xw.ComposeCommandLine(argv))
	if err != nil {
		return Process{}, err
	}
	var dirp *uint16
	if dir != "" {
		if dirp, err = xw.UTF16PtrFromString(dir); err != nil {
			return Process{}, err
		}
	}
	si := xw.StartupInfo{Cb: uint32(unsafe.Sizeof(xw.StartupInfo{}))}
	var pi xw.ProcessInformation
	if err := win32.CreateProcessWithLogon(user, domain, &pw[0], LogonWithProfile, app, cmd, flags, nil, dirp, &si, &pi); err != nil {
		return Process{}, explainLogonError(account, err)
	}
	return Process{Process: Handle(pi.Process), Thread: Handle(pi.Thread), PID: pi.ProcessId}, nil
}

// explainLogonError turns the usual logon failures into advice.
func explainLogonError(account string, err error) error {
	switch {
	case errors.Is(err, xw.ERROR_LOGON_FAILURE): // 1326
		return fmt.Errorf("logon as %s failed (1326: wrong password; a password policy change or another user's setup may have reset it): run `sbx setup --backend=windows-elevated` again: %w", account, err)
	case errors.Is(err, xw.Errno(1312)): // ERROR_NO_SUCH_LOGON_SESSION
		return fmt.Errorf("logon as %s failed (1312: stale logon session): retry; if it persists, sign out and in again: %w", account, err)
	case errors.Is(err, xw.Errno(1909)): // ERROR_ACCOUNT_LOCKED_OUT
		return fmt.Errorf("%s is locked out (1909): wait for the lockout to expire or unlock it, then run setup again: %w", account, err)
	}
	return fmt.Errorf("CreateProcessWithLogonW(%s): %w", account, err)
}

// winUsers implements UserAPI with the NetApi32 functions.
type winUsers struct{}

func isErr(err error, codes ...uintptr) bool {
	var e xw.Errno
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if uintptr(e) == c {
			return true
		}
	}
	return false
}

func lookupSID(name string) (string, error) {
	sid, _, _, err := xw.LookupSID("", name)
	if err != nil {
		return "", fmt.Errorf("look up %s: %w", name, err)
	}
	return sid.String(), nil
}

// CreateGroup is NetLocalGroupAdd (level 1); an existing group is
// reused. It returns the group's SID.
func (winUsers) CreateGroup(name, comment string) (string, error) {
	n, _ := xw.UTF16PtrFromString(name)
	c, _ := xw.UTF16PtrFromString(comment)
	info := win32.LocalGroupInfo1{Name: n, Comment: c}
	err := win32.NetLocalGroupAdd(nil, 1, (*byte)(unsafe.Pointer(&info)), nil)
	if err != nil && !isErr(err, win32.ERROR_ALIAS_EXISTS, win32.NERR_GroupExists) {
		return "", fmt.Errorf("NetLocalGroupAdd(%s): %w", name, err)
	}
	return lookupSID(name)
}

// DeleteGroup is NetLocalGroupDel; a missing group is fine.
func (winUsers) DeleteGroup(name string) error {
	n, _ := xw.UTF16PtrFromString(name)
	if err := win32.NetLocalGroupDel(nil, n); err != nil && !isErr(err, win32.ERROR_NO_SUCH_ALIAS, win32.NERR_GroupNotFound) {
		return fmt.Errorf("NetLocalGroupDel(%s): %w", name, err)
	}
	return nil
}

// CreateUser is NetUserAdd (level 1, USER_PRIV_USER, password never
// expires and cannot be changed by the user); an existing user gets the new
// password instead. It returns the user's SID.
func (u winUsers) CreateUser(name, password, comment string) (string, error) {
	n, _ := xw.UTF16PtrFromString(name)
	pw, err := xw.UTF16FromString(password)
	if err != nil {
		return "", err
	}
	defer clear(pw)
	c, _ := xw.UTF16PtrFromString(comment)
	info := win32.UserInfo1{Name: n, Password: &pw[0], Priv: win32.USER_PRIV_USER, Comment: c,
		Flags: win32.UF_SCRIPT | win32.UF_DONT_EXPIRE_PASSWD | win32.UF_PASSWD_CANT_CHANGE}
	err = win32.NetUserAdd(nil, 1, (*byte)(unsafe.Pointer(&info)), nil)
	if isErr(err, win32.NERR_UserExists) {
		err = u.SetPassword(name, password)
	}
	if err != nil {
		return "", fmt.Errorf("NetUserAdd(%s): %w", name, err)
	}
	return lookupSID(name)
}

// SetPassword is NetUserSetInfo level 1003.
func (winUsers) SetPassword(name, password string) error {
	n, _ := xw.UTF16PtrFromString(name)
	pw, err := xw.UTF16FromString(password)
	if err != nil {
		return err
	}
	defer clear(pw)
	info := win32.UserInfo1003{Password: &pw[0]}
	return win32.NetUserSetInfo(nil, n, 1003, (*byte)(unsafe.Pointer(&info)), nil)
}

// DeleteUser is NetUserDel; a missing user is fine.
func (winUsers) DeleteUser(name string) error {
	n, _ := xw.UTF16PtrFromString(name)
	if err := win32.NetUserDel(nil, n); err != nil && !isErr(err, win32.NERR_UserNotFound) {
		return fmt.Errorf("NetUserDel(%s): %w", name, err)
	}
	return nil
}

// AddToGroup is NetLocalGroupAddMembers (level 3, by name); an existing
// membership is fine.
func (winUsers) AddToGroup(group, user string) error {
	g, _ := xw.UTF16PtrFromString(group)
	u, _ := xw.UTF16PtrFromString(user)
	m := win32.LocalGroupMembersInfo3{DomainAndName: u}
	if err := win32.NetLocalGroupAddMembers(nil, g, 3, (*byte)(unsafe.Pointer(&m)), 1); err != nil && !isErr(err, win32.ERROR_MEMBER_IN_ALIAS) {
		return fmt.Errorf("NetLocalGroupAddMembers(%s, %s): %w", group, user, err)
	}
	return nil
}

// CreateProfile logs the user on once (LOGON_WITH_PROFILE loads, and on
// first use creates, the profile), waits for the trivial command, and
// reads the profile path from the ProfileList registry key.
func (winUsers) CreateProfile(name, password string) (string, error) {
	sys, err := xw.GetSystemDirectory()
	if err != nil {
		return "", err
	}
	p, err := logonProcess(name, password, []string{winJoin(sys, "cmd.exe"), "/d", "/c", "exit 0"}, sys, CreateNoWindow|CreateUnicodeEnvironment)
	if err != nil {
		return "", err
	}
	defer xw.CloseHandle(xw.Handle(p.Thread))
	defer xw.CloseHandle(xw.Handle(p.Process))
	ev, err := xw.WaitForSingleObject(xw.Handle(p.Process), uint32((2 * time.Minute).Milliseconds()))
	if err != nil {
		return "", fmt.Errorf("wait for the first logon of %s: %w", name, err)
	}
	if ev != xw.WAIT_OBJECT_0 {
		return "", fmt.Errorf("the first logon of %s did not finish within 2 minutes", name)
	}
	sid, err := lookupSID(name)
	if err != nil {
		return "", err
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\`+sid, registry.QUERY_VALUE)
	if err != nil {
		return "", fmt.Errorf("the profile of %s was not created (ProfileList\\%s: %w)", name, sid, err)
	}
	defer k.Close()
	path, _, err := k.GetStringValue("ProfileImagePath")
	if err != nil {
		return "", err
	}
	return registry.ExpandString(path)
}

// DeleteProfile is DeleteProfileW (administrators only): the profile
// directory and its ProfileList key.
func (winUsers) DeleteProfile(sid string) error {
	if sid == "" {
		return nil
	}
	s, _ := xw.UTF16PtrFromString(sid)
	if err := win32.DeleteProfile(s, nil, nil); err != nil && !errors.Is(err, xw.ERROR_FILE_NOT_FOUND) && !errors.Is(err, xw.ERROR_PATH_NOT_FOUND) {
		return fmt.Errorf("DeleteProfile(%s): %w", sid, err)
	}
	return nil
}
