package proc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
)

func init() {
	extraHelpers["tiocsti"] = helperTIOCSTI
	extraHelpers["ctty-leader"] = helperCttyLeader
}

// helperTIOCSTI tries to push a byte into the input of the terminal on its
// stdin. Exit 0: it worked; 1: refused (EPERM); 2: another error.
func helperTIOCSTI([]string) int {
	b := byte('#')
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, 0, unix.TIOCSTI, uintptr(unsafe.Pointer(&b)))
	switch errno {
	case 0:
		return 0
	case unix.EPERM:
		return 1
	default:
		fmt.Fprintln(os.Stderr, "TIOCSTI:", errno)
		return 2
	}
}

// helperCttyLeader runs on a pty that is its controlling terminal and starts
// the tiocsti helper with that terminal as stdin: through proc.Run (args[0]
// == "proc") or plainly in its own session ("plain"), and prints the
// helper's exit code. As root the helper runs in a new user namespace,
// where it lacks CAP_SYS_ADMIN in the initial namespace, which would
// otherwise allow TIOCSTI on any terminal.
func helperCttyLeader(args []string) int {
	exe, err := os.Executable()
	if err != nil {
		return 3
	}
	attr := func(a *syscall.SysProcAttr) {
		if os.Geteuid() == 0 {
			a.Cloneflags |= syscall.CLONE_NEWUSER
			a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
			a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
		}
	}
	code := -1
	switch args[0] {
	case "proc":
		res, err := Run(context.Background(), Spec{
			Path: exe, Argv: []string{"tiocsti"}, Env: []string{helperEnv + "=tiocsti"},
			Stdin: os.Stdin, Stderr: os.Stderr,
			Configure: func(cmd *exec.Cmd) error { attr(cmd.SysProcAttr); return nil },
		})
		if err != nil {
			fmt.Println("run error:", err)
			return 3
		}
		code = res.ExitCode
	case "plain":
		cmd := exec.Command(exe)
		cmd.Env = []string{helperEnv + "=tiocsti"}
		cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{}
		attr(cmd.SysProcAttr)
		err := cmd.Run()
		if cmd.ProcessState == nil {
			fmt.Println("run error:", err)
			return 3
		}
		code = cmd.ProcessState.ExitCode()
	}
	fmt.Printf("inner-exit=%d\n", code)
	return 0
}

// tiocstiFrom runs the leader on a new pty in mode and returns the inner
// helper's exit code.
func tiocstiFrom(t *testing.T, mode string) int {
	t.Helper()
	s := helperSpec(t, "ctty-leader", mode)
	out := newSyncBuffer()
	s.TTY = &core.WindowSize{Rows: 24, Cols: 80}
	s.Stdout = out
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("leader %s: res %+v err %v out %q", mode, res, err, out.String())
	}
	var code int
	i := strings.Index(out.String(), "inner-exit=")
	if i < 0 {
		t.Fatalf("leader %s: no result in %q", mode, out.String())
	}
	if _, err := fmt.Sscanf(out.String()[i:], "inner-exit=%d", &code); err != nil {
		t.Fatalf("leader %s: %v in %q", mode, err, out.String())
	}
	return code
}

func TestRun_NewSessionRefusesTerminalInjection(t *testing.T) {
	// Control: in the caller's session, with the terminal as controlling
	// terminal, TIOCSTI works; otherwise there is nothing to prove.
	if code := tiocstiFrom(t, "plain"); code != 0 {
		t.Skipf("TIOCSTI does not work on this host even in the caller's session (helper exit %d; "+
			"dev.tty.legacy_tiocsti=0 or no user namespaces as root): nothing to prove", code)
	}
	if code := tiocstiFrom(t, "proc"); code != 1 {
		t.Errorf("a command run by proc got exit %d from TIOCSTI on the caller's terminal, want 1 (EPERM)", code)
	}
}
