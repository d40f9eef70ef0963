//go:build windows

package windows

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"github.com/sbxdev/sbx/backends/windows/internal/win32"
	"github.com/sbxdev/sbx/backends/windows/protocol"
	"github.com/sbxdev/sbx/core"
	xw "golang.org/x/sys/windows"
)

// runWindows runs a planned command on this host.
func runWindows(ctx context.Context, in *RunInput) (*core.RunResult, error) {
	f := in.Facts
	if in.Mode == ModeUnelevated {
		return RunUnelevated(ctx, localSystem(f), in)
	}
	sys := &ElevatedSystem{ACL: winACL{}, Journal: fileJournal{path: f.JournalPath()}, Creds: winCreds{f: f},
		Pipes: winPipes{}, Logon: winLogon{}, Job: winAPI{}, Process: winAPI{}}
	res, err := RunElevated(ctx, sys, in)
	if errors.Is(err, xw.Errno(1312)) {
		// A stale logon session (ERROR_NO_SUCH_LOGON_SESSION) is
		// transient: retry once with a new pipe and nonce.
		in.Nonce = NewNonce()
		in.Detail.Launch = planLaunch(ModeElevated, f, in.Nonce, in.Detail.RunAs)
		res, err = RunElevated(ctx, sys, in)
	}
	return res, err
}

// setupWindows installs or removes a mode's setup.
func setupWindows(ctx context.Context, m Mode, req core.SetupRequest, f HostFacts, progress io.Writer) error {
	journal := fileJournal{path: f.JournalPath()}
	if m == ModeUnelevated {
		if req.Undo {
			if err := UndoACEs(winACL{}, journal, progress); err != nil {
				return err
			}
			return os.RemoveAll(f.DenyBinDir())
		}
		if req.Policy == nil {
			fmt.Fprintln(progress, "windows-unelevated needs no installation; ACEs are added (and journaled) at the first run of each workspace")
			return nil
		}
		_, d, err := BuildPlan(PlanInput{Mode: ModeUnelevated, Policy: *req.Policy, Nonce: NewNonce()}, f)
		if err != nil {
			return err
		}
		n, err := ApplyACEs(winACL{}, journal, d.ACEs, time.Now)
		fmt.Fprintf(progress, "added %d ACE(s) (journaled in %s)\n", n, f.JournalPath())
		return err
	}

	payload := SetupPayload{Version: SetupVersion, Undo: req.Undo, RealUserSID: f.UserSID, ProfileDir: f.ProfileDir, MachineDir: machineDir()}
	var passwords map[string]string
	if !req.Undo {
		var err error
		if payload.BaseSID, err = BaseSID(f.SIDSeed); err != nil {
			return err
		}
		if payload.OfflinePassword, err = NewPassword(24); err != nil {
			return err
		}
		if payload.OnlinePassword, err = NewPassword(24); err != nil {
			return err
		}
		passwords = map[string]string{OfflineUserName: payload.OfflinePassword, OnlineUserName: payload.OnlinePassword}
	}
	if err := elevateSetup(ctx, f, payload, progress); err != nil {
		return err
	}
	if req.Undo {
		if err := UndoACEs(winACL{}, journal, progress); err != nil {
			// Keep the journal (and everything else) for a retry.
			return err
		}
		// Nothing of sbx's is left in ACLs: remove its state too
		// (secrets, journal, seed, stubs).
		return os.RemoveAll(f.StateDir())
	}
	if err := storeCredentials(f, passwords); err != nil {
		return fmt.Errorf("the users were created but their passwords could not be stored (%w); run setup again", err)
	}
	fmt.Fprintln(progress, "credentials stored (DPAPI, real user)")
	return nil
}

// elevateSetup runs the setup binary as administrator with the payload,
// relaying its progress. If this process is already elevated the binary
// is started directly.
func elevateSetup(ctx context.Context, f HostFacts, payload SetupPayload, progress io.Writer) error {
	b, err := MarshalPayload(payload)
	if err != nil {
		return err
	}
	dir := winJoin(f.StateDir(), "setup")
	if err := ensurePrivateDir(dir, f.UserSID); err != nil {
		return err
	}
	path := winJoin(dir, "payload-"+NewNonce()+".json")
	// Readable by the user, Administrators (an over-the-shoulder
	// administrator runs the setup) and SYSTEM only; set at creation.
	if err := createFileWithSDDL(path, b, fmt.Sprintf("D:P(A;;FA;;;%s)(A;;FA;;;BA)(A;;FA;;;SY)", f.UserSID)); err != nil {
		return fmt.Errorf("write the setup payload: %w", err)
	}
	defer os.Remove(path)
	progressLog := winJoin(payload.MachineDir, "setup-progress.log")
	os.Remove(progressLog)

	verb := "runas"
	if f.Elevated {
		verb = "open"
	}
	info := win32.ShellExecuteInfo{
		Mask:       win32.SEE_MASK_NOCLOSEPROCESS | win32.SEE_MASK_NOASYNC,
		Verb:       utf16(verb),
		File:       utf16(f.SetupExePath()),
		Parameters: utf16(xw.ComposeCommandLine([]string{"--payload", path})),
		Show:       win32.SW_HIDE,
	}
	info.CbSize = uint32(unsafe.Sizeof(info))
	// ShellExecuteEx may delegate to Shell extensions: its documentation
	// asks for COM to be initialised (apartment-threaded, no OLE1 DDE) on
	// the calling thread first. Every successful CoInitializeEx, S_FALSE
	// (already initialised on this thread) included, must be balanced by
	// CoUninitialize; x/sys returns S_FALSE as a non-nil Errno(1).
	// https://learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-coinitializeex
	runtime.LockOSThread()
	comErr := xw.CoInitializeEx(0, xw.COINIT_APARTMENTTHREADED|xw.COINIT_DISABLE_OLE1DDE)
	err = win32.ShellExecuteEx(&info)
	if comErr == nil || comErr == xw.Errno(1) { // S_OK or S_FALSE
		xw.CoUninitialize()
	}
	runtime.UnlockOSThread()
	if err != nil {
		if errors.Is(err, xw.ERROR_CANCELLED) { // 1223
			return ErrUACCancelled
		}
		return fmt.Errorf("start %s as administrator: %w", f.SetupExePath(), err)
	}
	proc := xw.Handle(info.Process)
	defer xw.CloseHandle(proc)

	// Relay the progress log until the setup exits.
	var off int64
	relay := func() {
		fh, err := os.Open(progressLog)
		if err != nil {
			return
		}
		defer fh.Close()
		fh.Seek(off, io.SeekStart)
		n, _ := io.Copy(progress, bufio.NewReader(fh))
		off += n
	}
	for {
		ev, err := xw.WaitForSingleObject(proc, 250)
		relay()
		if err != nil {
			return err
		}
		if ev == xw.WAIT_OBJECT_0 {
			break
		}
		if ctx.Err() != nil {
			fmt.Fprintln(progress, "stopped waiting; the setup goes on in the background (`sbx setup --status` shows its progress)")
			return ctx.Err()
		}
	}
	var code uint32
	if err := xw.GetExitCodeProcess(proc, &code); err != nil {
		return err
	}
	if code != 0 {
		msg, _ := os.ReadFile(winJoin(payload.MachineDir, "setup-error.txt"))
		return fmt.Errorf("the setup failed (exit %d): %s: %w", code, strings.TrimSpace(string(msg)), core.ErrPermission)
	}
	return nil
}

// createFileWithSDDL creates a new file with a DACL applied at creation.
func createFileWithSDDL(path string, data []byte, sddl string) error {
	sa, err := securityAttributes(sddl)
	if err != nil {
		return err
	}
	h, err := xw.CreateFile(utf16(path), xw.GENERIC_WRITE, 0, sa, xw.CREATE_NEW, xw.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return err
	}
	fh := os.NewFile(uintptr(h), path)
	defer fh.Close()
	_, err = fh.Write(data)
	return err
}

// statusWindows says what is in place.
func statusWindows(ctx context.Context, m Mode, f HostFacts) (core.SetupStatus, error) {
	items, err := JournalItems(fileJournal{path: f.JournalPath()})
	if err != nil {
		return core.SetupStatus{}, err
	}
	if m == ModeUnelevated {
		return core.SetupStatus{Done: true, Items: items}, nil
	}
	mk, err := fileMarkers{dir: machineDir()}.LoadMarker()
	if err != nil {
		return core.SetupStatus{}, err
	}
	n, _ := winFirewall{}.Installed()
	_, cerr := os.Stat(credentialsPath(f))
	st := ElevatedStatus(mk, cerr == nil, n)
	st.Items = append(st.Items, items...)
	return st, nil
}

// hardenDLLSearch makes DLLs load from System32 only (no planting in the
// current or application directory).
func hardenDLLSearch() {
	xw.SetDefaultDllDirectories(xw.LOAD_LIBRARY_SEARCH_SYSTEM32)
}

// RunnerMain is the command runner (cmd/sbx-windows-runner). It runs as a
// sandbox user, started by the plugin with CreateProcessWithLogonW.
func RunnerMain(args []string) int {
	hardenDLLSearch()
	fs := flag.NewFlagSet("sbx-windows-runner", flag.ContinueOnError)
	pipeName := fs.String("pipe", "", "runner pipe name")
	nonce := fs.String("nonce", "", "session nonce")
	proto := fs.Int("protocol", 0, "protocol version")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *proto != protocol.Version || *pipeName == "" || *nonce == "" {
		fmt.Fprintf(os.Stderr, "sbx-windows-runner: started by an incompatible sbx (protocol %d, want %d) or without its arguments\n", *proto, protocol.Version)
		return 2
	}
	conn, err := dialRunnerPipe(*pipeName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sbx-windows-runner:", err)
		return 1
	}
	defer conn.Close()
	profile := map[string]string{}
	for _, k := range []string{"USERPROFILE", "APPDATA", "LOCALAPPDATA", "HOMEDRIVE", "HOMEPATH", "USERNAME", "USERDOMAIN"} {
		if v, ok := os.LookupEnv(k); ok {
			profile[k] = v
		}
	}
	sys := &System{
		LaunchAPIs: LaunchAPIs{Token: winAPI{}, Job: winAPI{}, Process: winAPI{}},
		Desktop:    winDesktop{},
		Stdio:      winStdio{},
	}
	if err := ServeRunner(context.Background(), conn, sys, *nonce, uint32(os.Getpid()), profile); err != nil {
		fmt.Fprintln(os.Stderr, "sbx-windows-runner:", err)
		return 1
	}
	return 0
}

// SetupMain is the elevated setup (cmd/sbx-windows-setup), started by the
// plugin through ShellExecuteEx("runas").
func SetupMain(args []string) int {
	hardenDLLSearch()
	fs := flag.NewFlagSet("sbx-windows-setup", flag.ContinueOnError)
	payloadPath := fs.String("payload", "", "setup payload file")
	if err := fs.Parse(args); err != nil || *payloadPath == "" {
		fmt.Fprintln(os.Stderr, "sbx-windows-setup: run `sbx setup --backend=windows-elevated` instead of this program")
		return 2
	}
	b, err := os.ReadFile(*payloadPath)
	os.Remove(*payloadPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sbx-windows-setup:", err)
		return 2
	}
	pl, err := UnmarshalPayload(b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sbx-windows-setup:", err)
		return 2
	}
	// %ProgramData%\sbx: everyone reads the marker, only administrators
	// and SYSTEM write.
	if err := os.MkdirAll(pl.MachineDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "sbx-windows-setup:", err)
		return 1
	}
	fail := func(err error) int {
		os.WriteFile(winJoin(pl.MachineDir, "setup-error.txt"), []byte(err.Error()), 0o644)
		return 1
	}
	if !xw.GetCurrentProcessToken().IsElevated() {
		return fail(fmt.Errorf("not running as administrator"))
	}
	// Fail closed: the directory may have existed before (ProgramData lets
	// any user create subdirectories), so it gets Administrators as owner
	// (an owner could rewrite the DACL later) and a protected DACL, or
	// setup stops here.
	if err := lockMachineDir(pl.MachineDir); err != nil {
		return fail(fmt.Errorf("locking %s: %w", pl.MachineDir, err))
	}
	os.Remove(winJoin(pl.MachineDir, "setup-error.txt"))
	logf, err := os.OpenFile(winJoin(pl.MachineDir, "setup-progress.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fail(err)
	}
	defer logf.Close()
	markers := fileMarkers{dir: pl.MachineDir}
	env := &SetupEnv{Users: winUsers{}, Firewall: winFirewall{}, ACL: winACL{}, Markers: markers, Payload: pl, Now: time.Now}
	readJournal := fileJournal{path: winJoin(pl.MachineDir, "read-acl-journal.json")}
	ctx := context.Background()
	if pl.Undo {
		if err := RunAll(ctx, UndoActions(env, readJournal), logf); err != nil {
			return fail(err)
		}
		// Leave nothing behind: the machine directory goes too.
		logf.Close()
		os.RemoveAll(pl.MachineDir)
		return 0
	}
	if err := RunSequence(ctx, SetupActions(env), logf); err != nil {
		return fail(err)
	}
	// The slow part, after the marker: read access for the sandbox group.
	m, _ := markers.LoadMarker()
	var entries []DirEntry
	if des, err := os.ReadDir(pl.ProfileDir); err == nil {
		for _, de := range des {
			entries = append(entries, DirEntry{Name: de.Name(), IsDir: de.IsDir(), Reparse: de.Type()&os.ModeSymlink != 0 || de.Type()&os.ModeIrregular != 0})
		}
	}
	targets, skipped := ReadTargets(pl.ProfileDir, entries)
	for _, s := range skipped {
		fmt.Fprintf(logf, "read-acl skip %s\n", s)
	}
	err = ReadACLPass(ctx, winACL{}, readJournal, m.GroupSID, targets, logf, time.Now)
	m.ReadACLs = "done"
	if err != nil {
		m.ReadACLs = "failed: " + err.Error()
	}
	markers.SaveMarker(m)
	fmt.Fprintln(logf, "setup complete")
	return 0
}

// lockMachineDir makes Administrators the owner of dir and gives it a
// protected DACL: SYSTEM and Administrators full control, Users read.
// SetNamedSecurityInfoW:
// https://learn.microsoft.com/windows/win32/api/aclapi/nf-aclapi-setnamedsecurityinfow
func lockMachineDir(dir string) error {
	sd, err := xw.SecurityDescriptorFromString("O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)")
	if err != nil {
		return err
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	return xw.SetNamedSecurityInfo(dir, xw.SE_FILE_OBJECT,
		xw.OWNER_SECURITY_INFORMATION|xw.DACL_SECURITY_INFORMATION|xw.PROTECTED_DACL_SECURITY_INFORMATION,
		owner, nil, dacl, nil)
}
