//go:build linux

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// binDir holds the real binaries (sbx and every plugin), built once.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sbx-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+"/", "github.com/sbxdev/sbx/cmd/...")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binaries:", err)
		os.Exit(1)
	}
	// Installed as dev.sh installs them: sbx is the lean front end, which
	// hands commands to the full CLI, sbx-cli (or to its resident agent).
	for _, mv := range [][2]string{{"sbx", "sbx-cli"}, {"front", "sbx"}} {
		if err := os.Rename(filepath.Join(dir, mv[0]), filepath.Join(dir, mv[1])); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	bad := exec.Command("go", "build", "-o", filepath.Join(dir, "sbx-backend-badproto"),
		"github.com/sbxdev/sbx/plugins/host/testdata/badproto")
	bad.Stdout, bad.Stderr = os.Stderr, os.Stderr
	if err := bad.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the test plugin:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sbx returns a command running the real sbx binary in workspace ws, with a
// clean configuration (no user file) and no plugin path but its own dir.
// Plugin agents are off (SBX_PLUGIN_KEEPALIVE=0): each sbx starts and owns
// its plugin, as these tests expect (one kills "the plugin child of sbx").
// agent_test.go turns them back on (the last value of a variable wins).
func sbx(t *testing.T, ws string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "sbx"), args...)
	cmd.Dir = ws
	cmd.Env = append(cleanEnv(), "XDG_CONFIG_HOME="+t.TempDir(), "HOME="+ws, "SBX_PLUGIN_KEEPALIVE=0")
	return cmd
}

func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SBX_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !asExit(err, &ee) {
		t.Fatalf("sbx did not run: %v", err)
	}
	return ee.ExitCode()
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

func TestRun_ExitStatusComesBackExactly(t *testing.T) {
	for _, backend := range []string{"none", "linux"} {
		for _, tt := range []struct {
			script string
			want   int
		}{
			{"exit 0", 0}, {"exit 1", 1}, {"exit 42", 42}, {"kill -KILL $$", 128 + 9}, {"kill -TERM $$", 128 + 15},
		} {
			t.Run(backend+"/"+tt.script, func(t *testing.T) {
				var stderr bytes.Buffer
				cmd := sbx(t, t.TempDir(), "--backend="+backend, "run", "--best-effort", "--", "/bin/sh", "-c", tt.script)
				cmd.Stderr = &stderr
				if got := exitCode(t, cmd.Run()); got != tt.want {
					t.Fatalf("exit %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
				}
			})
		}
	}
}

func TestRun_StdinPipedThroughAndBinaryOutputByteExact(t *testing.T) {
	const size = 4 << 20
	in, errData := randomBytes(t, size), randomBytes(t, size)
	ws := t.TempDir()
	must(t, os.WriteFile(filepath.Join(ws, "err.bin"), errData, 0o600))
	for _, backend := range []string{"none", "linux"} {
		t.Run(backend, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := sbx(t, ws, "--backend="+backend, "run", "--best-effort", "--", "/bin/sh", "-c", "cat err.bin >&2 & cat; wait")
			cmd.Stdin = bytes.NewReader(in)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v; stderr tail: %q", err, tail(stderr.Bytes()))
			}
			if !bytes.Equal(stdout.Bytes(), in) {
				t.Fatalf("stdout: %d bytes, want the %d bytes of stdin", stdout.Len(), len(in))
			}
			// Downgrade warnings (best effort) go to stderr before the
			// command starts; the command's bytes must follow intact.
			if !bytes.HasSuffix(stderr.Bytes(), errData) {
				t.Fatalf("stderr does not end with the command's %d bytes (got %d bytes)", len(errData), stderr.Len())
			}
		})
	}
}

func TestRun_TimeoutKillsTheWholeTree(t *testing.T) {
	for _, backend := range []string{"none", "linux"} {
		t.Run(backend, func(t *testing.T) {
			marker := uniqueMarker()
			cmd := sbx(t, t.TempDir(), "--backend="+backend, "run", "--best-effort", "--timeout", "1s", "--", "/bin/sh", "-c",
				fmt.Sprintf("sh -c 'sleep 1000; : %[1]s' & setsid sh -c 'sleep 1000; : %[1]s' & (sh -c 'sleep 1000; : %[1]s' &) ; sleep 1000", marker))
			if got := exitCode(t, cmd.Run()); got != 124 {
				t.Fatalf("exit %d, want 124", got)
			}
			waitGone(t, marker)
		})
	}
}

func TestRun_SbxKilledWithSIGKILLLeavesNothing(t *testing.T) {
	for _, backend := range []string{"none", "linux"} {
		t.Run(backend, func(t *testing.T) {
			marker := uniqueMarker()
			cmd := sbx(t, t.TempDir(), "--backend="+backend, "run", "--best-effort", "--", "/bin/sh", "-c",
				fmt.Sprintf("sh -c 'sleep 1000; : %[1]s' & setsid sh -c 'sleep 1000; : %[1]s' & wait", marker))
			must(t, cmd.Start())
			waitCommand(t, marker, cmd.Process.Pid, 2)
			must(t, cmd.Process.Signal(syscall.SIGKILL))
			cmd.Wait()
			waitGone(t, marker)
			waitNoPlugin(t, cmd.Process.Pid)
		})
	}
}

func TestRun_PluginCrashMidRunIsAClearErrorAndLeavesNothing(t *testing.T) {
	for _, backend := range []string{"none", "linux"} {
		t.Run(backend, func(t *testing.T) {
			marker := uniqueMarker()
			var stderr bytes.Buffer
			cmd := sbx(t, t.TempDir(), "--backend="+backend, "run", "--best-effort", "--", "/bin/sh", "-c",
				fmt.Sprintf("sh -c 'sleep 1000; : %[1]s' & setsid sh -c 'sleep 1000; : %[1]s' & wait", marker))
			cmd.Stderr = &stderr
			must(t, cmd.Start())
			// The command's shells (not sbx, nor a child of it between
			// fork and exec, whose command line is still sbx's).
			waitCommand(t, marker, cmd.Process.Pid, 2)
			plugin := childNamed(cmd.Process.Pid, "sbx-backend-")
			if plugin == 0 {
				var who []string
				for _, pid := range markerPids(marker) {
					comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
					who = append(who, fmt.Sprintf("%d %s (parents %v)", pid, strings.TrimSpace(string(comm)), ancestors(pid)))
				}
				t.Fatalf("no plugin process found under sbx (pid %d); the command's processes: %s", cmd.Process.Pid, strings.Join(who, "; "))
			}
			must(t, syscall.Kill(plugin, syscall.SIGKILL))
			code := exitCode(t, cmd.Wait())
			if code == 0 || !strings.Contains(stderr.String(), "backend "+backend+" stopped during the run") {
				t.Fatalf("exit %d, stderr %q: want a non-zero exit and a message saying the backend exited", code, stderr.String())
			}
			waitGone(t, marker)
		})
	}
}

func TestRun_InteractiveSessionInAPty(t *testing.T) {
	for _, backend := range []string{"none", "linux"} {
		t.Run(backend, func(t *testing.T) {
			cmd := sbx(t, t.TempDir(), "--backend="+backend, "run", "--best-effort", "--", "/bin/sh", "-i")
			_, out, send, expect := shellSession(t, cmd)
			send("stty size | sed 's/ /x/'\n")
			expect("33x101")
			// Ctrl-C reaches the foreground job inside the sandbox, not sbx.
			send("sleep 1000\n")
			time.Sleep(500 * time.Millisecond)
			send("\x03")
			send("echo AFTER-SLEEP-$?\n")
			expect("AFTER-SLEEP-130")
			send("exit 7\n")
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if got := exitCode(t, err); got != 7 {
					t.Fatalf("exit %d, want 7; output:\n%s", got, out.String())
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("sbx did not exit; output:\n%s", out.String())
			}
		})
	}
}

// shellSession starts cmd (an interactive shell under sbx) on a new 33x101
// pty and waits until the shell says it has a terminal. It returns the pty
// (closed when the test ends), everything read from it so far (out), send,
// which types s, and expect, which waits until the output holds what.
func shellSession(t *testing.T, cmd *exec.Cmd) (ptmx *os.File, out *syncBuffer, send func(s string), expect func(what string)) {
	t.Helper()
	cmd.Env = append(cmd.Env, "PS1=$ ", "TERM=dumb")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 101})
	must(t, err)
	t.Cleanup(func() { ptmx.Close() })
	out = &syncBuffer{}
	go io.Copy(out, ptmx)
	send = func(s string) { ptmx.Write([]byte(s)) }
	expect = func(what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(out.String(), what) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("never saw %q; output so far:\n%s", what, out.String())
	}
	send("test -t 0 && echo IS-A-TTY-$((6*7))\n")
	expect("IS-A-TTY-42")
	return ptmx, out, send, expect
}

func TestRun_LinuxWritesAreConfinedThroughTheCLI(t *testing.T) {
	outside := t.TempDir()
	for _, backend := range []string{"linux-landlock", "linux-namespaces"} {
		// Run from the workspace, and from a path to it through a
		// symbolic link (cd ~/proj with ~/proj -> /data/proj), as a shell
		// whose PWD is that path would.
		for _, via := range []string{"direct", "link"} {
			t.Run(backend+"/"+via, func(t *testing.T) {
				// Landlock cannot exempt protected names inside a writable
				// root, so linux-landlock freezes the root's own entries and
				// leaves everything inside them writable: write in a subdir.
				ws := t.TempDir()
				if out, err := sbx(t, ws, "--backend="+backend, "run", "--no-tmp", "--", "true").CombinedOutput(); err != nil {
					t.Skipf("backend %s cannot run here: %v: %s", backend, err, out)
				}
				must(t, os.Mkdir(filepath.Join(ws, "sub"), 0o755))
				dir := ws
				if via == "link" {
					dir = filepath.Join(t.TempDir(), "link")
					must(t, os.Symlink(ws, dir))
				}
				target := filepath.Join(outside, backend+"-"+via)
				var stderr bytes.Buffer
				cmd := sbx(t, dir, "--backend="+backend, "run", "--no-tmp", "--", "/bin/sh", "-c",
					"echo in > sub/inside.txt && (echo out > "+target+") 2>/dev/null; mkdir .git 2>/dev/null; exit 0")
				cmd.Env = append(cmd.Env, "PWD="+dir)
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("run from %s: %v: %s", dir, err, stderr.String())
				}
				if b, err := os.ReadFile(filepath.Join(ws, "sub", "inside.txt")); err != nil || string(b) != "in\n" {
					t.Fatalf("write inside the workspace failed: %v %q", err, b)
				}
				if _, err := os.Stat(target); err == nil {
					t.Fatal("write outside the workspace got through")
				}
				if _, err := os.Stat(filepath.Join(ws, ".git")); err == nil {
					t.Fatal("creating the protected .git got through")
				}
			})
		}
	}
}

func TestBadInput(t *testing.T) {
	ws := t.TempDir()
	sum := strings.Repeat("00", 32)
	tests := []struct {
		name   string
		args   []string
		config string
		want   []string
	}{
		{"UnknownBackendListsKnownOnes", []string{"--backend=nosuch", "run", "--", "true"}, "",
			[]string{"nosuch", "linux-landlock", "none"}},
		{"WrongProtocolVersionPlugin", []string{"--backend=badproto", "run", "--best-effort", "--", "true"}, "",
			[]string{"protocol version"}},
		{"PinnedPluginWithAnotherChecksum", []string{"--backend=none", "run", "--best-effort", "--", "true"},
			"[plugin_checksums]\n\"sbx-backend-none\" = \"" + sum + "\"\n", []string{"checksum"}},
		{"MalformedTOML", []string{"run", "--", "true"}, "network = \n", []string{"config.toml:1"}},
		{"UnknownKey", []string{"run", "--", "true"}, "netwrk = \"deny\"\n", []string{"netwrk", "network"}},
		{"RelativeWritableRoot", []string{"run", "--writable-root", "../x", "--", "true"}, "", []string{"writable"}},
		{"NonexistentWritableRoot", []string{"run", "--writable-root", "/nonexistent/sbx", "--", "true"}, "",
			[]string{"/nonexistent/sbx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := sbx(t, ws, tt.args...)
			if tt.config != "" {
				cfg := filepath.Join(t.TempDir(), "config.toml")
				must(t, os.WriteFile(cfg, []byte(tt.config), 0o600))
				cmd.Env = append(cmd.Env, "SBX_CONFIG="+cfg)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			code := exitCode(t, cmd.Run())
			if code != 125 {
				t.Fatalf("exit %d, want 125; stderr:\n%s", code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// helpers

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	must(t, err)
	return b
}

func tail(b []byte) string {
	if len(b) > 400 {
		b = b[len(b)-400:]
	}
	return string(b)
}

func uniqueMarker() string {
	var b [8]byte
	rand.Read(b[:])
	return "sbx-e2e-" + hex.EncodeToString(b[:])
}

func markerPids(marker string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(marker)) {
			out = append(out, pid)
		}
	}
	return out
}

func waitGone(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if len(markerPids(marker)) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("processes left behind: %v", markerPids(marker))
}

// childNamed returns a child of pid whose command name starts with prefix.
func childNamed(pid int, prefix string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < 0 {
			continue
		}
		comm := s[open+1 : close]
		fields := strings.Fields(s[close+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) && strings.HasPrefix(comm, prefix[:min(len(prefix), 15)]) {
			p, _ := strconv.Atoi(e.Name())
			return p
		}
	}
	return 0
}

// waitNoPlugin waits until no process whose parent was sbx's pid remains
// (a plugin outliving sbx would show up reparented, so look by name).
func waitNoPlugin(t *testing.T, sbxPid int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if childNamed(sbxPid, "sbx-backend-") == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("a plugin process outlived sbx")
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
