//go:build darwin

package darwin

// These tests run real commands under Seatbelt and check that macOS refuses
// what the policy forbids. They run on a Mac only (the macos-latest CI
// job); on Linux the same package is covered by the pure tests.

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
)

// connectEnv makes the test binary, run inside the sandbox, try to connect
// to the TCP address in this variable and exit 0 on success, 3 on failure.
const connectEnv = "SBX_DARWIN_TEST_CONNECT"

func TestMain(m *testing.M) {
	if addr := os.Getenv(connectEnv); addr != "" {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			os.Stderr.WriteString("connect: " + err.Error() + "\n")
			os.Exit(3)
		}
		c.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// needSeatbelt skips the test when sandbox-exec cannot apply a profile
// here (inside another sandbox, say), with the reason.
func needSeatbelt(t *testing.T) {
	t.Helper()
	info, err := New(Name).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !info.Available {
		t.Skipf("Seatbelt unavailable: %s", info.Unavailable)
	}
}

// workspace makes a fresh workspace and an "outside" directory next to it,
// both resolved the way the kernel names them.
func workspace(t *testing.T) (ws, outside string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws, outside = filepath.Join(base, "ws"), filepath.Join(base, "outside")
	for _, d := range []string{ws, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return ws, outside
}

// policy is the default policy for ws without writable temporary
// directories (t.TempDir lives in $TMPDIR, which would otherwise make the
// "outside" directory writable too).
func policy(ws string) core.Policy {
	p := core.DefaultPolicy(ws)
	p.WritableTmp = false
	return p
}

// sandboxed runs argv under p and returns the result and output. The
// process tree is advisory on macOS, so runs accept advisory elements.
func sandboxed(t *testing.T, p core.Policy, env []string, argv ...string) (*core.RunResult, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	res, err := New(Name).Run(context.Background(), &core.RunRequest{
		Policy: p,
		Accept: core.Acceptance{AllowAdvisory: true},
		Argv:   argv,
		Env:    append([]string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}, env...),
		Stdout: &stdout,
		Stderr: &stderr,
	})
	if err != nil {
		t.Fatalf("run %q: %v", argv, err)
	}
	return res, stdout.String(), stderr.String()
}

// sh runs a shell script under p.
func sh(t *testing.T, p core.Policy, script string) (*core.RunResult, string, string) {
	t.Helper()
	return sandboxed(t, p, nil, "/bin/sh", "-c", script)
}

// alive reports whether pid is a running process: not gone and not a
// zombie waiting for launchd to reap it (killed, but not yet collected).
func alive(pid int) bool {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || int(kp.Proc.P_pid) != pid {
		return false
	}
	const zombie = 5 // SZOMB
	return kp.Proc.P_stat != zombie
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestRun_Darwin_ExitCodeAndEnvironment(t *testing.T) {
	needSeatbelt(t)
	ws, _ := workspace(t)
	p := policy(ws)
	p.Env.Set = map[string]string{"SBX_TEST": "from-policy"}
	res, out, _ := sandboxed(t, p, nil, "/bin/sh", "-c", `echo "$SBX_TEST"; exit 42`)
	if res.ExitCode != 42 || strings.TrimSpace(out) != "from-policy" {
		t.Errorf("exit %d, output %q; want 42 and the policy's variable", res.ExitCode, out)
	}
}

func TestRun_Darwin_WritesOnlyInsideWorkspace(t *testing.T) {
	needSeatbelt(t)
	ws, outside := workspace(t)
	_, _, errOut := shArgs(t, policy(ws), `echo ok > "$0/inside" && mkdir "$0/dir" && echo ok > "$0/dir/f"`+"\n"+`echo no > "$1/escaped"`, ws, outside)
	if !exists(filepath.Join(ws, "inside")) || !exists(filepath.Join(ws, "dir", "f")) {
		t.Errorf("writes inside the workspace failed: %s", errOut)
	}
	if exists(filepath.Join(outside, "escaped")) {
		t.Errorf("write outside the workspace succeeded")
	}
}

// shArgs runs a script with positional parameters ($0 = ws, $1 = outside).
func shArgs(t *testing.T, p core.Policy, script string, args ...string) (*core.RunResult, string, string) {
	t.Helper()
	return sandboxed(t, p, nil, append([]string{"/bin/sh", "-c", script}, args...)...)
}

func TestRun_Darwin_WriteOutsideRefused(t *testing.T) {
	needSeatbelt(t)
	ws, outside := workspace(t)
	res, _, _ := shArgs(t, policy(ws), `echo no > "$1/escaped"`, ws, outside)
	if res.ExitCode == 0 || exists(filepath.Join(outside, "escaped")) {
		t.Errorf("write outside the workspace: exit %d", res.ExitCode)
	}
	// Through a symlink planted in the workspace: Seatbelt checks the
	// resolved path.
	if err := os.Symlink(filepath.Join(outside, "via-link"), filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	shArgs(t, policy(ws), `echo no > "$0/link"`, ws, outside)
	if exists(filepath.Join(outside, "via-link")) {
		t.Errorf("write through a symlink to outside succeeded")
	}
}

func TestRun_Darwin_ProtectedNamesAreReadOnly(t *testing.T) {
	needSeatbelt(t)
	ws, _ := workspace(t)
	git := filepath.Join(ws, ".git")
	if err := os.Mkdir(git, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(git, "config")
	if err := os.WriteFile(config, []byte("original\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := policy(ws)
	tests := []struct {
		name, script string
		mustNotExist string
	}{
		{"overwrite .git/config", `echo evil > "$0/.git/config"`, ""},
		{"append through other case", `echo evil >> "$0/.GIT/config"`, ""},
		{"new hook", `mkdir -p "$0/.git/hooks" && echo evil > "$0/.git/hooks/pre-commit"`, filepath.Join(git, "hooks", "pre-commit")},
		{"rename .git away", `mv "$0/.git" "$0/moved"`, filepath.Join(ws, "moved")},
		{"hard link then write", `ln "$0/.git/config" "$0/hl" && echo evil >> "$0/hl"`, ""},
		{"create .sbx.toml", `echo evil > "$0/.sbx.toml"`, filepath.Join(ws, ".sbx.toml")},
		{"create .SBX.TOML", `echo evil > "$0/.SBX.TOML"`, filepath.Join(ws, ".SBX.TOML")},
		{"create .Codex dir", `mkdir "$0/.Codex"`, filepath.Join(ws, ".Codex")},
		{"create .agents with long s", "mkdir \"$0/.agent\u017F\"", filepath.Join(ws, ".agent\u017F")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shArgs(t, p, tt.script, ws)
			b, err := os.ReadFile(config)
			if err != nil || string(b) != "original\n" {
				t.Errorf(".git/config changed: %q, %v", b, err)
			}
			if !exists(git) {
				t.Errorf(".git is gone")
			}
			if tt.mustNotExist != "" && exists(tt.mustNotExist) {
				t.Errorf("%s was created", tt.mustNotExist)
			}
		})
	}
	// Names that merely look alike stay writable.
	shArgs(t, p, `echo ok > "$0/.gitignore" && mkdir "$0/sub" && mkdir "$0/sub/.git"`, ws)
	if !exists(filepath.Join(ws, ".gitignore")) || !exists(filepath.Join(ws, "sub", ".git")) {
		t.Errorf(".gitignore or a nested sub/.git could not be created")
	}
}

func TestRun_Darwin_ProtectedGitCreationRefusedInAnyCase(t *testing.T) {
	needSeatbelt(t)
	ws, _ := workspace(t)
	for _, name := range []string{".git", ".GiT", ".GIT"} {
		shArgs(t, policy(ws), `mkdir "$0/$1"`, ws, name)
		if exists(filepath.Join(ws, name)) {
			t.Errorf("%s was created", name)
		}
	}
}

func TestRun_Darwin_WeirdWorkspacePath(t *testing.T) {
	needSeatbelt(t)
	base, _ := workspace(t)
	ws := filepath.Join(base, "we\"ird) (allow default) (\\ \n ünï ☃")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(ws, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	shArgs(t, policy(ws), `echo ok > "$0/inside"; echo evil > "$0/.git/config"; mkdir "$0/.CODEX"; echo no > "$0/../escaped"`, ws)
	if !exists(filepath.Join(ws, "inside")) {
		t.Errorf("write inside a workspace with a weird name failed")
	}
	if exists(filepath.Join(ws, ".git", "config")) || exists(filepath.Join(ws, ".CODEX")) || exists(filepath.Join(base, "escaped")) {
		t.Errorf("a weird workspace name widened the profile")
	}
}

func TestRun_Darwin_TempDirsWritableWhenAsked(t *testing.T) {
	needSeatbelt(t)
	ws, _ := workspace(t)
	p := policy(ws)
	p.WritableTmp = true
	name := "sbx-darwin-test-" + strconv.Itoa(os.Getpid())
	defer os.Remove(filepath.Join("/tmp", name))
	res, _, errOut := shArgs(t, p, `echo ok > "/tmp/$0"`, name)
	if res.ExitCode != 0 {
		t.Errorf("write to /tmp with writable_tmp: exit %d: %s", res.ExitCode, errOut)
	}
	p.WritableTmp = false
	name2 := name + "-no"
	defer os.Remove(filepath.Join("/tmp", name2))
	shArgs(t, p, `echo no > "/tmp/$0"`, name2)
	if exists(filepath.Join("/tmp", name2)) {
		t.Errorf("write to /tmp without writable_tmp succeeded")
	}
}

func TestRun_Darwin_NetworkDeniedThenAllowed(t *testing.T) {
	needSeatbelt(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := workspace(t)
	p := policy(ws)
	env := []string{connectEnv + "=" + ln.Addr().String()}
	res, _, errOut := sandboxed(t, p, env, exe)
	if res.ExitCode != 3 {
		t.Errorf("loopback connect with network denied: exit %d (%s), want 3 (refused)", res.ExitCode, errOut)
	}
	p.Network.Mode = core.NetworkAllow
	res, _, errOut = sandboxed(t, p, env, exe)
	if res.ExitCode != 0 {
		t.Errorf("loopback connect with network allowed: exit %d (%s), want 0", res.ExitCode, errOut)
	}
}

func TestRun_Darwin_RestrictedReads(t *testing.T) {
	needSeatbelt(t)
	ws, outside := workspace(t)
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o644); err != nil {
		t.Fatal(err)
	}
	listedDir := filepath.Join(outside, "listed")
	if err := os.Mkdir(listedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(listedDir, "f"), []byte("visible"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := policy(ws)
	p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{listedDir}}
	_, out, errOut := shArgs(t, p, `cat "$0/listed/f"; echo; cat "$0/secret"; echo; echo done`, outside)
	if !strings.Contains(out, "visible") || !strings.Contains(out, "done") {
		t.Errorf("listed file or shell unusable with restricted reads: %q %q", out, errOut)
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("unlisted file readable with restricted reads")
	}
}

func TestRun_Darwin_TimeoutKillsTree(t *testing.T) {
	needSeatbelt(t)
	ws, _ := workspace(t)
	p := policy(ws)
	p.Limits.Timeout = time.Second
	res, out, _ := sh(t, p, `sleep 300 & echo $!; wait`)
	if !res.TimedOut || res.ExitCode != core.TimeoutExitCode {
		t.Errorf("timed out %v, exit %d; want true, 124", res.TimedOut, res.ExitCode)
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(out)); err == nil {
		if alive(pid) {
			t.Errorf("background sleep %d survived the run", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// A descendant that left the process group (setsid) while its parent is
// still running is found through its parent link and killed too.
func TestRun_Darwin_TimeoutKillsDescendantThatLeftTheGroup(t *testing.T) {
	needSeatbelt(t)
	if _, err := os.Stat("/usr/bin/perl"); err != nil {
		t.Skip("no /usr/bin/perl to call setsid with")
	}
	ws, _ := workspace(t)
	p := policy(ws)
	p.Limits.Timeout = 2 * time.Second
	res, out, errOut := sh(t, p, `/usr/bin/perl -e 'use POSIX; POSIX::setsid(); $|=1; print "$$\n"; sleep 300' & wait`)
	if !res.TimedOut {
		t.Fatalf("not timed out: exit %d, %s", res.ExitCode, errOut)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("no pid printed: %q %q", out, errOut)
	}
	if alive(pid) {
		t.Errorf("setsid'd descendant %d survived the run", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func TestRun_Darwin_PidsLimitStopsForkBomb(t *testing.T) {
	needSeatbelt(t)
	if os.Getuid() == 0 {
		t.Skip("RLIMIT_NPROC does not bind root")
	}
	ws, _ := workspace(t)
	p := policy(ws)
	p.Limits.Pids = 5
	p.Limits.Timeout = 60 * time.Second
	res, _, errOut := sh(t, p, `i=0; while [ $i -lt 40 ]; do sleep 3 & i=$((i+1)); done; wait`)
	if res.TimedOut || !strings.Contains(strings.ToLower(errOut), "fork") {
		t.Errorf("40 background processes with pids = 5: exit %d, stderr %q; want fork failures", res.ExitCode, errOut)
	}
}

func TestResolveDarwin_CanonicalCaseAndPrivateLinks(t *testing.T) {
	ws, _ := workspace(t)
	upper := filepath.Join(filepath.Dir(ws), "WS")
	got, err := resolveDarwin(upper)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(upper); err == nil && got != ws {
		// Case-insensitive volume: the stored name is "ws".
		t.Errorf("resolveDarwin(%q) = %q, want %q", upper, got, ws)
	}
	got, err = resolveDarwin("/tmp/does-not-exist-sbx/.git")
	if err != nil || got != "/private/tmp/does-not-exist-sbx/.git" {
		t.Errorf("resolveDarwin(/tmp/...) = %q, %v", got, err)
	}
}

func TestInfo_Darwin_Facts(t *testing.T) {
	info, err := New(Name).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Facts["sandbox_exec"] != SandboxExec || info.Facts["macos_version"] == "" {
		t.Errorf("facts %v", info.Facts)
	}
	if !info.Available && info.Unavailable == "" {
		t.Errorf("unavailable without a reason")
	}
}
