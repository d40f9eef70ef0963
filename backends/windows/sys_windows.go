//go:build windows

package windows

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/sbxdev/sbx/backends/windows/internal/win32"
	"github.com/sbxdev/sbx/backends/windows/protocol"
	xw "golang.org/x/sys/windows"
)

// This file holds the thin Win32 implementations of the interfaces of
// api.go and run.go. Each method is one documented call (or a short, fixed
// sequence of them); the order and the error handling around them live in
// the portable code, where fakes test them.

// winAPI implements TokenAPI, JobAPI and ProcessAPI.
type winAPI struct{}

// Close is CloseHandle: tokens, jobs, processes and threads all close the
// same way.
func (winAPI) Close(h Handle) error { return xw.CloseHandle(xw.Handle(h)) }

// OpenSelf: OpenProcessToken with the rights CreateRestrictedToken
// (TOKEN_DUPLICATE), CreateProcessAsUser (TOKEN_ASSIGN_PRIMARY, TOKEN_QUERY)
// and SetTokenInformation(TokenDefaultDacl) (TOKEN_ADJUST_DEFAULT) need.
func (winAPI) OpenSelf() (Handle, error) {
	var t xw.Token
	err := xw.OpenProcessToken(xw.CurrentProcess(), xw.TOKEN_DUPLICATE|xw.TOKEN_QUERY|xw.TOKEN_ASSIGN_PRIMARY|xw.TOKEN_ADJUST_DEFAULT, &t)
	return Handle(t), err
}

// sidList converts SID strings to SID_AND_ATTRIBUTES (attributes 0, as
// CreateRestrictedToken wants). The SIDs live on the Go heap; callers keep
// the returned slice alive across the call.
func sidList(sids []string) ([]xw.SIDAndAttributes, error) {
	out := make([]xw.SIDAndAttributes, 0, len(sids))
	for _, s := range sids {
		sid, err := xw.StringToSid(s)
		if err != nil {
			return nil, fmt.Errorf("SID %q: %w", s, err)
		}
		out = append(out, xw.SIDAndAttributes{Sid: sid})
	}
	return out, nil
}

// Restrict calls CreateRestrictedToken. DISABLE_MAX_PRIVILEGE in flags
// deletes every privilege but SeChangeNotifyPrivilege, so no privilege list
// is passed; SIDs in denyOnly that the token lacks are ignored by the call.
func (winAPI) Restrict(tok Handle, flags uint32, denyOnly, restricting []string) (Handle, error) {
	dis, err := sidList(denyOnly)
	if err != nil {
		return 0, err
	}
	res, err := sidList(restricting)
	if err != nil {
		return 0, err
	}
	if len(res) == 0 {
		return 0, errors.New("no restricting SIDs (refusing an unrestricted token)")
	}
	var disp *xw.SIDAndAttributes
	if len(dis) > 0 {
		disp = &dis[0]
	}
	var nt xw.Token
	err = win32.CreateRestrictedToken(xw.Token(tok), flags, uint32(len(dis)), disp, 0, nil, uint32(len(res)), &res[0], &nt)
	runtime.KeepAlive(dis)
	runtime.KeepAlive(res)
	return Handle(nt), err
}

// tokenDefaultDacl is TOKEN_DEFAULT_DACL.
type tokenDefaultDacl struct{ DefaultDacl *xw.ACL }

// SetDefaultDACL sets TokenDefaultDacl from SDDL.
func (winAPI) SetDefaultDACL(tok Handle, sddl string) error {
	sd, err := xw.SecurityDescriptorFromString(sddl)
	if err != nil {
		return fmt.Errorf("default DACL %q: %w", sddl, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	tdd := tokenDefaultDacl{DefaultDacl: dacl}
	err = xw.SetTokenInformation(xw.Token(tok), xw.TokenDefaultDacl, (*byte)(unsafe.Pointer(&tdd)), uint32(unsafe.Sizeof(tdd)))
	runtime.KeepAlive(sd)
	return err
}

// CreateJob is CreateJobObjectW with no name (nobody else can open it by
// name) and the default security descriptor.
func (winAPI) CreateJob() (Handle, error) {
	h, err := xw.CreateJobObject(nil, nil)
	return Handle(h), err
}

// SetLimits applies the extended limits, the UI restrictions and, when
// asked, the CPU rate. Breakaway is never allowed: the flags are the plan's.
func (winAPI) SetLimits(job Handle, j JobPlan) error {
	var ext xw.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	ext.BasicLimitInformation.LimitFlags = j.LimitFlags
	ext.BasicLimitInformation.ActiveProcessLimit = j.ActiveProcess
	ext.JobMemoryLimit = uintptr(j.JobMemoryBytes)
	if _, err := xw.SetInformationJobObject(xw.Handle(job), xw.JobObjectExtendedLimitInformation, uintptr(unsafe.Pointer(&ext)), uint32(unsafe.Sizeof(ext))); err != nil {
		return fmt.Errorf("job limits: %w", err)
	}
	if j.UILimits != 0 {
		ui := xw.JOBOBJECT_BASIC_UI_RESTRICTIONS{UIRestrictionsClass: j.UILimits}
		if _, err := xw.SetInformationJobObject(xw.Handle(job), xw.JobObjectBasicUIRestrictions, uintptr(unsafe.Pointer(&ui)), uint32(unsafe.Sizeof(ui))); err != nil {
			return fmt.Errorf("job UI restrictions: %w", err)
		}
	}
	if j.CPURate != 0 {
		cpu := win32.JobObjectCPURateControlInformation{ControlFlags: j.CPURateFlags, CPURate: j.CPURate}
		if _, err := xw.SetInformationJobObject(xw.Handle(job), win32.JobObjectCpuRateControlInformation, uintptr(unsafe.Pointer(&cpu)), uint32(unsafe.Sizeof(cpu))); err != nil {
			return fmt.Errorf("job CPU rate: %w", err)
		}
	}
	return nil
}

// Assign is AssignProcessToJobObject. The process handle needs
// PROCESS_SET_QUOTA and PROCESS_TERMINATE, which the handle returned by
// process creation has.
func (winAPI) Assign(job, proc Handle) error {
	return xw.AssignProcessToJobObject(xw.Handle(job), xw.Handle(proc))
}

// TerminateJob is TerminateJobObject: every process in the job (and in
// nested jobs) ends with code.
func (winAPI) TerminateJob(job Handle, code uint32) error {
	return xw.TerminateJobObject(xw.Handle(job), code)
}

// envBlock encodes "K=V" entries as a CREATE_UNICODE_ENVIRONMENT block.
func envBlock(env []string) (*uint16, error) {
	var b []uint16
	for _, kv := range env {
		u, err := xw.UTF16FromString(kv)
		if err != nil {
			return nil, fmt.Errorf("environment entry %q: %w", kv, err)
		}
		b = append(b, u...) // includes the NUL terminator
	}
	b = append(b, 0)
	if len(env) == 0 {
		b = append(b, 0)
	}
	return &b[0], nil
}

// CreateAsUser calls CreateProcessAsUserW with an extended startup info
// whose attribute list restricts inheritance to the stdio handles (or
// attaches the pseudo console).
func (winAPI) CreateAsUser(tok Handle, spec ChildSpec) (Process, error) {
	exe, err := lookPath(spec.Argv[0], spec.Env, spec.Dir)
	if err != nil {
		return Process{}, err
	}
	app, err := xw.UTF16PtrFromString(exe)
	if err != nil {
		return Process{}, err
	}
	cmdline, err := xw.UTF16PtrFromString(xw.ComposeCommandLine(spec.Argv))
	if err != nil {
		return Process{}, err
	}
	dir, err := xw.UTF16PtrFromString(spec.Dir)
	if err != nil {
		return Process{}, err
	}
	desktop, err := xw.UTF16PtrFromString(spec.Desktop)
	if err != nil {
		return Process{}, err
	}
	env, err := envBlock(spec.Env)
	if err != nil {
		return Process{}, err
	}
	attrs, err := xw.NewProcThreadAttributeList(1)
	if err != nil {
		return Process{}, err
	}
	defer attrs.Delete()
	si := xw.StartupInfoEx{}
	si.Cb = uint32(unsafe.Sizeof(si))
	si.Desktop = desktop
	inherit := false
	var handles []xw.Handle
	if spec.PseudoConsole != 0 {
		// The attribute's value is the HPCON itself, not a pointer to
		// it (see CreatePseudoConsole's documentation); reinterpret the
		// handle's bits as the pointer-typed argument.
		pc := xw.Handle(spec.PseudoConsole)
		if err := attrs.Update(xw.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, *(*unsafe.Pointer)(unsafe.Pointer(&pc)), unsafe.Sizeof(pc)); err != nil {
			return Process{}, err
		}
	} else {
		si.Flags = xw.STARTF_USESTDHANDLES
		si.StdInput, si.StdOutput, si.StdErr = xw.Handle(spec.Stdin), xw.Handle(spec.Stdout), xw.Handle(spec.Stderr)
		seen := map[xw.Handle]bool{}
		for _, h := range []xw.Handle{si.StdInput, si.StdOutput, si.StdErr} {
			if h != 0 && !seen[h] {
				seen[h] = true
				handles = append(handles, h)
			}
		}
		if len(handles) > 0 {
			inherit = true
			if err := attrs.Update(xw.PROC_THREAD_ATTRIBUTE_HANDLE_LIST, unsafe.Pointer(&handles[0]), uintptr(len(handles))*unsafe.Sizeof(handles[0])); err != nil {
				return Process{}, err
			}
		}
	}
	si.ProcThreadAttributeList = attrs.List()
	var pi xw.ProcessInformation
	err = xw.CreateProcessAsUser(xw.Token(tok), app, cmdline, nil, nil, inherit, spec.Flags, env, dir, &si.StartupInfo, &pi)
	runtime.KeepAlive(handles)
	if err != nil {
		return Process{}, fmt.Errorf("%s: %w", exe, err)
	}
	return Process{Process: Handle(pi.Process), Thread: Handle(pi.Thread), PID: pi.ProcessId}, nil
}

// lookPath finds argv[0] in the PATH of the command's environment (not
// ours), trying PATHEXT when it has no extension.
func lookPath(name string, env []string, dir string) (string, error) {
	path, _ := lookupFold(env, "PATH")
	pathext, _ := lookupFold(env, "PATHEXT")
	found := winLookPath(name, dir, path, pathext, func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && !fi.IsDir()
	})
	if found == "" {
		return "", fmt.Errorf("%s: not found in the command's PATH: %w", name, os.ErrNotExist)
	}
	return found, nil
}

// Resume is ResumeThread, which returns the previous suspend count, or
// (DWORD)-1 on failure.
func (winAPI) Resume(thread Handle) error {
	if n, err := xw.ResumeThread(xw.Handle(thread)); n == 0xFFFFFFFF {
		return err
	}
	return nil
}

// TerminateProcess ends one process (used only before it was resumed, or
// for the runner).
func (winAPI) TerminateProcess(proc Handle, code uint32) error {
	return xw.TerminateProcess(xw.Handle(proc), code)
}

// Wait blocks in WaitForSingleObject until the process is signaled, then
// reads its exit code.
func (winAPI) Wait(proc Handle) (uint32, error) {
	if _, err := xw.WaitForSingleObject(xw.Handle(proc), xw.INFINITE); err != nil {
		return 0, err
	}
	var code uint32
	err := xw.GetExitCodeProcess(xw.Handle(proc), &code)
	return code, err
}

// CtrlBreak is GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, group). Only the
// members of the group that share this process's console receive it; the
// caller ends the job only when the call fails, and the documentation does
// not say that it fails when no member shares the console (a command with
// a console of its own, or under a pseudo console, may then get nothing).
// CTRL_C_EVENT cannot be limited to a process group.
// https://learn.microsoft.com/windows/console/generateconsolectrlevent
func (winAPI) CtrlBreak(pid uint32) error {
	return xw.GenerateConsoleCtrlEvent(xw.CTRL_BREAK_EVENT, pid)
}

// winACL implements ACLAPI with the Get/SetNamedSecurityInfoW pattern of
// the documentation ("Modifying the ACLs of an Object in C++").
type winACL struct{}

// GetDACL reads the DACL with GetNamedSecurityInfoW (x/sys copies it to
// the Go heap and frees the system buffer) and renders it as SDDL.
func (winACL) GetDACL(path string) (string, error) {
	sd, err := xw.GetNamedSecurityInfo(path, xw.SE_FILE_OBJECT, xw.DACL_SECURITY_INFORMATION)
	if err != nil {
		return "", err
	}
	return sd.String(), nil
}

// AddACEs merges aces into the current DACL with SetEntriesInAclW, which
// puts deny ACEs before allow ACEs (canonical order), and writes it back
// with SetNamedSecurityInfoW, which propagates inheritable ACEs to the
// existing children (slow once on big trees; later runs skip present ACEs).
func (winACL) AddACEs(path string, aces []ACE) error {
	sd, err := xw.GetNamedSecurityInfo(path, xw.SE_FILE_OBJECT, xw.DACL_SECURITY_INFORMATION)
	if err != nil {
		return err
	}
	old, _, err := sd.DACL()
	if err != nil {
		return err
	}
	entries := make([]xw.EXPLICIT_ACCESS, 0, len(aces))
	var sids []*xw.SID
	for _, a := range aces {
		sid, err := xw.StringToSid(a.SID)
		if err != nil {
			return fmt.Errorf("SID %q: %w", a.SID, err)
		}
		sids = append(sids, sid)
		mode := xw.ACCESS_MODE(xw.GRANT_ACCESS)
		if a.Kind == Deny {
			mode = xw.DENY_ACCESS
		}
		entries = append(entries, xw.EXPLICIT_ACCESS{
			AccessPermissions: xw.ACCESS_MASK(a.Mask),
			AccessMode:        mode,
			Inheritance:       a.Inherit,
			Trustee:           xw.TRUSTEE{TrusteeForm: xw.TRUSTEE_IS_SID, TrusteeType: xw.TRUSTEE_IS_UNKNOWN, TrusteeValue: xw.TrusteeValueFromSID(sid)},
		})
	}
	acl, err := xw.ACLFromEntries(entries, old)
	runtime.KeepAlive(sids)
	if err != nil {
		return fmt.Errorf("SetEntriesInAcl: %w", err)
	}
	return xw.SetNamedSecurityInfo(path, xw.SE_FILE_OBJECT, xw.DACL_SECURITY_INFORMATION, nil, nil, acl, nil)
}

// SetDACL replaces the explicit DACL. The protection flag is explicit:
// PROTECTED keeps a "D:P" DACL cut from its parent, UNPROTECTED lets the
// system recompute the inherited ACEs that removeACEs dropped.
func (winACL) SetDACL(path, sddl string) error {
	sd, err := xw.SecurityDescriptorFromString(sddl)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	info := xw.SECURITY_INFORMATION(xw.DACL_SECURITY_INFORMATION | xw.UNPROTECTED_DACL_SECURITY_INFORMATION)
	if strings.HasPrefix(sddl[strings.Index(sddl, "D:")+2:], "P") {
		info = xw.DACL_SECURITY_INFORMATION | xw.PROTECTED_DACL_SECURITY_INFORMATION
	}
	return xw.SetNamedSecurityInfo(path, xw.SE_FILE_OBJECT, info, nil, nil, dacl, nil)
}

// winFiles writes the deny-bin stubs.
type winFiles struct{}

// WriteFiles writes each file that is missing or different, atomically.
// dir lives in the private state directory, so a sandboxed command cannot
// replace the stubs.
func (winFiles) WriteFiles(dir string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, content := range files {
		p := winJoin(dir, name)
		if b, err := os.ReadFile(p); err == nil && string(b) == content {
			continue
		}
		if err := writeFileAtomic(p, []byte(content)); err != nil {
			return err
		}
	}
	return nil
}

// winDesktop creates the run's private desktop with its DACL applied at
// creation. The window station ACE is best effort: without it some GUI
// initialisation may fail, which is not a confinement failure.
type winDesktop struct{}

const desktopAllAccess = 0x01FF // DESKTOP_* rights, all

// Prepare creates the desktop with CreateDesktopW (security descriptor
// applied at creation) and adds the window-station ACE; the returned
// function removes both.
func (winDesktop) Prepare(d DesktopPlan) (func(), error) {
	name := d.Name
	if i := strings.IndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	sa, err := securityAttributes(d.SDDL)
	if err != nil {
		return nil, err
	}
	p, err := xw.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	h, err := win32.CreateDesktop(p, nil, 0, 0, desktopAllAccess, sa)
	if err != nil {
		return nil, fmt.Errorf("CreateDesktop(%s): %w", name, err)
	}
	undoWinSta := addWinStaACE(d.WinStaACE)
	return func() {
		undoWinSta()
		win32.CloseDesktop(h)
	}, nil
}

// addWinStaACE adds an ACE (SDDL ace string) to the process window
// station's DACL and returns the function that puts the old DACL back.
func addWinStaACE(ace string) func() {
	nothing := func() {}
	if ace == "" {
		return nothing
	}
	ws, err := win32.GetProcessWindowStation() // not to be closed
	if err != nil {
		return nothing
	}
	sd, err := xw.GetSecurityInfo(ws, xw.SE_WINDOW_OBJECT, xw.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nothing
	}
	before := sd.String()
	nsd, err := xw.SecurityDescriptorFromString(before + ace)
	if err != nil {
		return nothing
	}
	dacl, _, err := nsd.DACL()
	if err != nil || xw.SetSecurityInfo(ws, xw.SE_WINDOW_OBJECT, xw.DACL_SECURITY_INFORMATION, nil, nil, dacl, nil) != nil {
		return nothing
	}
	return func() {
		old, _, err := sd.DACL()
		if err == nil {
			xw.SetSecurityInfo(ws, xw.SE_WINDOW_OBJECT, xw.DACL_SECURITY_INFORMATION, nil, nil, old, nil)
		}
	}
}

// securityAttributes returns a SECURITY_ATTRIBUTES (not inheritable) whose
// security descriptor is sddl, for a call that applies it at creation. The
// descriptor is self-relative and lives on the Go heap: nothing to free.
func securityAttributes(sddl string) (*xw.SecurityAttributes, error) {
	sd, err := xw.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, err
	}
	return &xw.SecurityAttributes{Length: uint32(unsafe.Sizeof(xw.SecurityAttributes{})), SecurityDescriptor: sd}, nil
}

// winStdio creates the command's pipes or pseudo console.
type winStdio struct{}

// pipe returns a pipe whose childEnd is inheritable and whose other end is
// an *os.File for this process.
func pipe(childReads bool) (child xw.Handle, mine *os.File, err error) {
	var r, w xw.Handle
	if err := xw.CreatePipe(&r, &w, nil, 0); err != nil {
		return 0, nil, err
	}
	child, other := w, r
	if childReads {
		child, other = r, w
	}
	if err := xw.SetHandleInformation(child, xw.HANDLE_FLAG_INHERIT, xw.HANDLE_FLAG_INHERIT); err != nil {
		xw.CloseHandle(r)
		xw.CloseHandle(w)
		return 0, nil, err
	}
	return child, os.NewFile(uintptr(other), "|sbx-pipe"), nil
}

// Open creates three anonymous pipes, or two and a pseudo console
// (CreatePseudoConsole) when a terminal is asked for.
func (winStdio) Open(tty *protocol.Resize) (*ChildStdio, error) {
	// Everything opened here is released exactly once: the child's ends
	// by AfterStart (or by Close if the launch failed before it), this
	// process's ends by Close.
	var mine []*os.File
	var child []xw.Handle
	var childOnce, pcOnce sync.Once
	closeChild := func() {
		childOnce.Do(func() {
			for _, h := range child {
				xw.CloseHandle(h)
			}
		})
	}
	closeAll := func() {
		closeChild()
		for _, f := range mine {
			f.Close()
		}
	}
	// stdin (the child reads), stdout and stderr (it writes); a pseudo
	// console needs only the first two.
	for _, childReads := range []bool{true, false, false} {
		c, m, err := pipe(childReads)
		if err != nil {
			closeAll()
			return nil, err
		}
		child, mine = append(child, c), append(mine, m)
		if tty != nil && len(child) == 2 {
			break
		}
	}
	if tty != nil {
		var pc xw.Handle
		if err := xw.CreatePseudoConsole(xw.Coord{X: int16(tty.Cols), Y: int16(tty.Rows)}, child[0], child[1], 0, &pc); err != nil {
			closeAll()
			return nil, fmt.Errorf("CreatePseudoConsole: %w", err)
		}
		closePC := func() { pcOnce.Do(func() { xw.ClosePseudoConsole(pc) }) }
		return &ChildStdio{
			PseudoConsole: Handle(pc), Stdin: mine[0], Stdout: mine[1],
			Resize: func(rows, cols uint16) error {
				return xw.ResizePseudoConsole(pc, xw.Coord{X: int16(cols), Y: int16(rows)})
			},
			// ConPTY holds its own references to the pipe ends.
			AfterStart: closeChild,
			// Closing the pseudo console ends the output pipe; the
			// pumps keep reading while it closes.
			Finish: closePC,
			Close:  func() { closePC(); closeAll() },
		}, nil
	}
	return &ChildStdio{
		In: Handle(child[0]), Out: Handle(child[1]), Err: Handle(child[2]),
		Stdin: mine[0], Stdout: mine[1], Stderr: mine[2],
		AfterStart: closeChild,
		Close:      closeAll,
	}, nil
}

// localSystem returns the System of this host.
func localSystem(f HostFacts) *System {
	return &System{
		LaunchAPIs: LaunchAPIs{Token: winAPI{}, Job: winAPI{}, Process: winAPI{}},
		ACL:        winACL{},
		Journal:    fileJournal{path: f.JournalPath()},
		Files:      winFiles{},
		Desktop:    winDesktop{},
		Stdio:      winStdio{},
	}
}

// utf16 converts a string for a Win32 call; strings sbx builds hold no NUL.
func utf16(s string) *uint16 {
	p, err := xw.UTF16PtrFromString(s)
	if err != nil {
		p, _ = xw.UTF16PtrFromString("")
	}
	return p
}
