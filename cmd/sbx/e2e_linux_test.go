//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// These tests build the real sbx and the none plugin and drive them as a
// user would, for what only the real binary shows: the exit status of the
// process, the host wiring, and the terminal left as it was found. The
// plugin-level end-to-end suite (streams, process trees, crashes) lives
// with the plugin host.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// sbxBinary builds sbx and sbx-backend-none once into a temporary
// directory and returns the path of sbx (the plugin is found next to it).
func sbxBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds binaries; skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool in PATH to build the binaries")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "sbx-cli-e2e-")
		if buildErr != nil {
			return
		}
		// -buildvcs=false: the checkout may belong to another user (CI runs
		// the suite as root and as an unprivileged user), and git refuses.
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", binDir+string(filepath.Separator),
			"github.com/sbxdev/sbx/cmd/sbx", "github.com/sbxdev/sbx/cmd/sbx-backend-none")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building sbx: %v", buildErr)
	}
	return filepath.Join(binDir, "sbx")
}

// sbxCommand returns an exec.Cmd running sbx in a fresh workspace with no
// user configuration. Plugin agents are off (SBX_PLUGIN_KEEPALIVE=0): an
// agent of this test's throw-away plugin binary would outlive the test by
// minutes, in the user's own agent directory. cmd/e2e tests agents.
func sbxCommand(t *testing.T, args ...string) *exec.Cmd {
	sbx := sbxBinary(t)
	cmd := exec.Command(sbx, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "SBX_CONFIG=", "XDG_CONFIG_HOME="+t.TempDir(), "SBX_PLUGIN_PATH=", "SBX_PLUGIN_KEEPALIVE=0")
	return cmd
}

func exitOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("running sbx: %v", err)
	return -1
}

func TestE2E_ExitStatusThroughTheNonePlugin(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   int
		stderr string
	}{
		{"exit 0", []string{"--", "true"}, 0, ""},
		{"exit 1", []string{"--", "false"}, 1, ""},
		{"exit 42", []string{"--", "sh", "-c", "exit 42"}, 42, ""},
		{"killed by SIGKILL", []string{"--", "sh", "-c", "kill -9 $$"}, 137, ""},
		{"timeout", []string{"--timeout=200ms", "--", "sleep", "30"}, 124, "timed out"},
		{"not found", []string{"--", "no-such-command-sbx"}, 127, "no-such-command-sbx"},
		{"not executable", []string{"--", "/etc/hostname"}, 126, "/etc/hostname"},
		{"strict refusal", []string{"--best-effort=false", "--", "true"}, 125, "backend none cannot enforce this policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--backend=none", "run", "--best-effort"}, tt.args...)
			cmd := sbxCommand(t, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if got := exitOf(t, cmd.Run()); got != tt.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
		})
	}
}

func TestE2E_StdinAndStdoutPassThrough(t *testing.T) {
	cmd := sbxCommand(t, "run", "--backend=none", "--best-effort", "--", "tr", "a-z", "A-Z")
	cmd.Stdin = strings.NewReader("hello sandbox\n")
	out, err := cmd.Output()
	if code := exitOf(t, err); code != 0 || string(out) != "HELLO SANDBOX\n" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
}

func TestE2E_UnknownBackendListsTheKnownOnes(t *testing.T) {
	cmd := sbxCommand(t, "--backend=nope", "run", "--", "true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if code := exitOf(t, cmd.Run()); code != 125 || !strings.Contains(stderr.String(), "none") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
}

func TestE2E_InteractiveRunRestoresTheTerminal(t *testing.T) {
	cmd := sbxCommand(t, "--backend=none", "run", "--best-effort", "--",
		"sh", "-c", `test -t 0 && echo TTY-OK; stty size; echo READY; read line; echo "got:$line"; exit 7`)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 33, Cols: 99}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// Read the session; answer once the command is ready. No timing: the
	// test blocks on the command's output (go test's timeout is the bound).
	var out strings.Builder
	r := bufio.NewReader(ptmx)
	answered := false
	for {
		line, err := r.ReadString('\n')
		out.WriteString(line)
		if !answered && strings.Contains(line, "READY") {
			if _, err := ptmx.Write([]byte("typed text\r")); err != nil {
				t.Fatal(err)
			}
			answered = true
		}
		if strings.Contains(line, "got:") || err != nil {
			break
		}
	}
	code := exitOf(t, cmd.Wait())
	s := out.String()
	if code != 7 || !strings.Contains(s, "TTY-OK") || !strings.Contains(s, "33 99") || !strings.Contains(s, "got:typed text") {
		t.Errorf("exit %d, session:\n%q", code, s)
	}
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal not restored: lflag %#x -> %#x, iflag %#x -> %#x, oflag %#x -> %#x",
			before.Lflag, after.Lflag, before.Iflag, after.Iflag, before.Oflag, after.Oflag)
	}
}
