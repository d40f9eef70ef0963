package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sbxdev/sbx/core"
)

func TestRun_BackendFlagBeforeOrAfterVerb(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		backend  string
		wantArgv []string
	}{
		{"default backend", []string{"run", "--", "echo", "hi"}, "fake", []string{"echo", "hi"}},
		{"before the verb with =", []string{"--backend=other", "run", "--", "true"}, "other", []string{"true"}},
		{"before the verb with a space", []string{"--backend", "other", "run", "--", "true"}, "other", []string{"true"}},
		{"after the verb", []string{"run", "--backend=other", "--", "true"}, "other", []string{"true"}},
		{"without --", []string{"run", "--backend", "other", "ls", "-la"}, "other", []string{"ls", "-la"}},
		{"flags after the command belong to it", []string{"run", "--", "tool", "--backend=x", "--network=allow"}, "fake",
			[]string{"tool", "--backend=x", "--network=allow"}},
		{"flags after the command without --", []string{"run", "tool", "--network=allow"}, "fake",
			[]string{"tool", "--network=allow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			other := &fakeBackend{name: "other"}
			h.set.backends["other"] = other
			if code := h.run(tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, h.stderr.String())
			}
			b := h.fake
			if tt.backend == "other" {
				b = other
			}
			req := b.request()
			if req == nil {
				t.Fatalf("backend %s did not run", tt.backend)
			}
			if strings.Join(req.Argv, " ") != strings.Join(tt.wantArgv, " ") {
				t.Errorf("argv = %q, want %q", req.Argv, tt.wantArgv)
			}
			if req.Policy.Network.Mode != core.NetworkDeny {
				t.Errorf("network = %q: a flag after the command leaked into the policy", req.Policy.Network.Mode)
			}
		})
	}
}

func TestRun_UnknownBackendListsKnownOnes(t *testing.T) {
	h := newHarness(t)
	h.mustFail(exitSbxError, []string{"--backend=nope", "run", "--", "true"},
		`unknown backend "nope"`, "known backends: fake, other")
}

func TestRun_MissingCommandIsAUsageError(t *testing.T) {
	h := newHarness(t)
	h.mustFail(exitSbxError, []string{"run"}, "run needs a command", "Run 'sbx run --help' for usage.")
	h.mustFail(exitSbxError, []string{"run", "--no-such-flag", "--", "true"}, "unknown flag: --no-such-flag", "sbx run --help")
	h.mustFail(exitSbxError, []string{"frobnicate"}, `unknown command "frobnicate"`)
}

func TestRun_PassesPolicyStreamsAndEnvironment(t *testing.T) {
	h := newHarness(t)
	root := t.TempDir()
	h.vars["SECRET"] = "x"
	if code := h.run("run", "--writable-root", root, "--unset-env", "SECRET", "--", "cmd"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	req := h.fake.request()
	env := h.environment()
	if req.Stdin != h.stdin || req.Stdout != env.Stdout || req.Stderr != env.Stderr || req.Diagnostics != env.Stderr {
		t.Error("the run did not get sbx's own streams")
	}
	if v, ok := core.LookupEnv(req.Env, "SECRET"); !ok || v != "x" {
		t.Error("the run did not get sbx's environment (the backend applies env.unset)")
	}
	if req.Policy.Workspace != h.cwd || len(req.Policy.WritableRoots) != 1 || req.Policy.WritableRoots[0] != root {
		t.Errorf("policy = %+v", req.Policy)
	}
	if len(req.Policy.Env.Unset) != 1 || req.Policy.Env.Unset[0] != "SECRET" {
		t.Errorf("env policy = %+v", req.Policy.Env)
	}
	if req.TTY != nil {
		t.Error("TTY requested without a terminal")
	}
	if !h.set.closed {
		t.Error("the plugin host was not closed")
	}
}

func TestRun_PluginOptionsComeFromTheUserFile(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	sum := strings.Repeat("ab", 32)
	h.writeUser(fmt.Sprintf("plugin_dirs = [%q]\n[plugin_checksums]\nsbx-backend-Foo = %q\n", dir, strings.ToUpper(sum)))
	if code := h.run("run", "--", "true"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	if len(h.set.opts.Dirs) != 1 || h.set.opts.Dirs[0] != dir || h.set.opts.Pins["sbx-backend-Foo"] != sum {
		t.Errorf("plugin options = %+v (names keep their case, sums are lower-cased)", h.set.opts)
	}
}

func TestRun_ExitStatus(t *testing.T) {
	tests := []struct {
		name    string
		result  *core.RunResult
		err     error
		want    int
		message string
	}{
		{"success", &core.RunResult{ExitCode: 0}, nil, 0, ""},
		{"failure", &core.RunResult{ExitCode: 1}, nil, 1, ""},
		{"exit 42", &core.RunResult{ExitCode: 42}, nil, 42, ""},
		{"killed by SIGKILL", &core.RunResult{ExitCode: 128 + 9, Signal: 9}, nil, 137, ""},
		{"timed out", &core.RunResult{ExitCode: core.TimeoutExitCode, TimedOut: true}, nil, 124, "timed out"},
		{"memory limit", &core.RunResult{ExitCode: 137, LimitExceeded: "memory"}, nil, 137, "exceeded its memory limit"},
		{"command not found", nil, fmt.Errorf("exec: %q: %w", "nope", exec.ErrNotFound), 127, "executable file not found"},
		{"command not found across the plugin boundary", nil, errors.New(`start "nope": exec: "nope": executable file not found in $PATH`), 127, "nope"},
		{"not executable", nil, &os.PathError{Op: "fork/exec", Path: "./x", Err: syscall.EACCES}, 126, "permission denied"},
		{"plugin died", nil, &core.ClassError{Class: core.ErrBackendExited, Msg: "plugin exited: no such file or directory"}, 125, "stopped during the run"},
		{"setup required", nil, fmt.Errorf("%w: the offline user is missing", core.ErrSetupRequired), 125, "sbx setup --backend=fake"},
		{"canceled", nil, core.ErrCanceled, 125, "canceled"},
		{"backend says not found", nil, &core.ClassError{Class: core.ErrNotFound, Msg: `not found: command "nope" not found in PATH`}, 127, `command "nope" not found`},
		{"backend says not executable", nil, &core.ClassError{Class: core.ErrPermission, Msg: "permission denied: cannot run /etc/passwd"}, 126, "cannot run /etc/passwd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.fake.run = func(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
				if tt.result == nil {
					return nil, tt.err
				}
				r := *tt.result
				return &r, nil
			}
			args := []string{"run", "--", "cmd"}
			if tt.result != nil && tt.result.TimedOut {
				args = []string{"run", "--timeout=1s", "--", "cmd"}
			}
			if got := h.run(args...); got != tt.want {
				t.Errorf("exit %d, want %d; stderr: %s", got, tt.want, h.stderr.String())
			}
			if tt.message != "" && !strings.Contains(h.stderr.String(), tt.message) {
				t.Errorf("stderr does not say %q: %s", tt.message, h.stderr.String())
			}
			if tt.message == "" && h.stderr.Len() != 0 {
				t.Errorf("sbx wrote on stderr for a normal exit: %q", h.stderr.String())
			}
		})
	}
}

func TestExitCode_Mapping(t *testing.T) {
	tests := []struct {
		name string
		err  error
		// run: the error came from Backend.Run, through runError.
		run  bool
		want int
	}{
		{"nil", nil, false, 0},
		{"command status", &exitStatus{Code: 3}, false, 3},
		{"usage", &usageError{err: errors.New("bad flag")}, false, 125},
		{"config", &configError{Problems: []string{"x"}}, false, 125},
		{"not enforced", &core.NotEnforcedError{Backend: "b"}, false, 125},
		{"not found class is a backend, not a command", fmt.Errorf("%w: unknown backend: no such file or directory", core.ErrNotFound), false, 125},
		{"plain not found", fs_notExist(), true, 127},
		{"plain permission", &os.PathError{Op: "exec", Path: "x", Err: os.ErrPermission}, true, 126},
		{"exec format", errors.New("fork/exec ./x: exec format error"), true, 126},
		{"other", errors.New("something else"), true, 125},
		{"sbx's own not found is not a command's", fmt.Errorf("cannot find the current directory: %w", fs_notExist()), false, 125},
	}
	for _, tt := range tests {
		err := tt.err
		if tt.run {
			err = runError("b", err)
		}
		if got := exitCode(err); got != tt.want {
			t.Errorf("%s: exitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func fs_notExist() error { return &os.PathError{Op: "exec", Path: "x", Err: os.ErrNotExist} }

func TestRun_StrictRefusesWhatTheBackendCannotEnforce(t *testing.T) {
	h := newHarness(t)
	h.fake.weak = map[core.Boundary]core.Strength{core.BoundaryNetwork: core.Advisory}
	h.mustFail(exitSbxError, []string{"run", "--", "true"},
		"backend fake cannot enforce this policy", "network network: deny is advisory", "--allow-advisory")

	h.fake.weak = map[core.Boundary]core.Strength{core.BoundaryNetwork: core.Advisory}
	if code := h.run("run", "--allow-advisory", "--", "true"); code != 0 {
		t.Fatalf("--allow-advisory: exit %d: %s", code, h.stderr.String())
	}
	if !strings.Contains(h.stderr.String(), "downgrade: network network: deny is advisory") {
		t.Errorf("downgrade not printed: %q", h.stderr.String())
	}

	h.fake.weak = map[core.Boundary]core.Strength{core.BoundaryNetwork: core.Absent}
	h.mustFail(exitSbxError, []string{"run", "--allow-advisory", "--", "true"}, "--best-effort")
	h.vars["SBX_BEST_EFFORT"] = "1"
	if code := h.run("run", "--", "true"); code != 0 {
		t.Fatalf("SBX_BEST_EFFORT=1: exit %d: %s", code, h.stderr.String())
	}
}

func TestRun_JSONResultOnStderr(t *testing.T) {
	h := newHarness(t)
	h.fake.run = func(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
		return &core.RunResult{ExitCode: 3}, nil
	}
	if code := h.run("run", "--json", "--", "x"); code != 3 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(h.stderr.String()), "\n")
	var res core.RunResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.ExitCode != 3 || res.Report.Backend != "fake" {
		t.Errorf("last stderr line is not the result: %q (%v)", lines[len(lines)-1], err)
	}
}

func TestRun_TerminalIsRawDuringTheRunAndRestored(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("run fails=%v", fail), func(t *testing.T) {
			h := newHarness(t)
			term := &fakeTerminal{size: core.WindowSize{Rows: 40, Cols: 120}}
			h.term = term
			h.fake.weak = map[core.Boundary]core.Strength{core.BoundaryNetwork: core.Advisory}
			var rawDuringRun bool
			h.fake.run = func(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
				rawDuringRun = term.raw
				if fail {
					return nil, &core.ClassError{Class: core.ErrBackendExited, Msg: "plugin crashed"}
				}
				return &core.RunResult{}, nil
			}
			code := h.run("run", "--allow-advisory", "--", "bash")
			if fail != (code == exitSbxError) {
				t.Errorf("exit %d: %s", code, h.stderr.String())
			}
			req := h.fake.request()
			if req.TTY == nil || *req.TTY != term.size {
				t.Errorf("TTY = %v, want %v", req.TTY, term.size)
			}
			if !rawDuringRun || term.raw || term.restored != 1 {
				t.Errorf("raw during run %v, raw after %v, restored %d times", rawDuringRun, term.raw, term.restored)
			}
			if !strings.Contains(h.stderr.String(), "advisory (fake): the fake cannot\r\n") {
				t.Errorf("downgrade warnings in raw mode must end in CRLF: %q", h.stderr.String())
			}
		})
	}
	t.Run("--tty=never", func(t *testing.T) {
		h := newHarness(t)
		term := &fakeTerminal{}
		h.term = term
		if code := h.run("run", "--tty=never", "--", "true"); code != 0 {
			t.Fatal(code)
		}
		if h.fake.request().TTY != nil || term.restored != 0 {
			t.Error("--tty=never still used the terminal")
		}
	})
	t.Run("backend without terminal support", func(t *testing.T) {
		h := newHarness(t)
		term := &fakeTerminal{}
		h.term = term
		h.fake.noTTY = true
		if code := h.run("run", "--", "true"); code != 0 {
			t.Fatal(code)
		}
		if h.fake.request().TTY != nil || term.restored != 0 {
			t.Error("auto mode asked a backend without TTY support for a terminal")
		}
		h.mustFail(exitSbxError, []string{"run", "--tty=always", "--", "true"}, "backend fake cannot give the command a terminal")
	})
	t.Run("--tty=always without a terminal", func(t *testing.T) {
		h := newHarness(t)
		h.mustFail(exitSbxError, []string{"run", "--tty=always", "--", "true"}, "not a terminal")
		h.mustFail(exitSbxError, []string{"run", "--tty=sometimes", "--", "true"}, "want auto, always or never")
	})
}

func TestRun_SignalsAreForwardedNotFatal(t *testing.T) {
	h := newHarness(t)
	var got []core.Signal
	h.fake.run = func(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
		// sbx asked to be notified of the signals it forwards; deliver
		// SIGTERM and SIGINT as the OS would, and read what the run gets.
		c := h.notifiedFor(syscall.SIGTERM)
		c <- syscall.SIGTERM
		got = append(got, <-req.Signals)
		c <- os.Interrupt
		got = append(got, <-req.Signals)
		return &core.RunResult{ExitCode: 128 + 15, Signal: core.SIGTERM}, nil
	}
	if code := h.run("run", "--", "sleep", "100"); code != 143 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	if len(got) != 2 || got[0] != core.SIGTERM || got[1] != core.SIGINT {
		t.Errorf("forwarded %v, want [SIGTERM SIGINT]", got)
	}
}

// A shell's current directory may be a path through a symbolic link
// (cd ~/proj, with ~/proj -> /data/proj): the workspace is the directory
// itself, which backends that never follow a final link accept.
func TestRun_WorkspaceReachedThroughALinkIsTheDirectoryItself(t *testing.T) {
	h := newHarness(t)
	real := filepath.Join(h.home, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(h.home, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	h.cwd = link
	if code := h.run("--backend=fake", "run", "--", "true"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	want, _ := filepath.EvalSymlinks(real)
	if got := h.fake.request().Policy.Workspace; got != want {
		t.Errorf("workspace %q, want %q (the link resolved)", got, want)
	}
}

// A writable root is a grant: a link is not followed (a sandboxed command
// could have replaced it), and the message says what to name instead.
func TestRun_WritableRootThatIsALinkIsRefusedWithItsTarget(t *testing.T) {
	h := newHarness(t)
	target := filepath.Join(h.home, "cache")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(h.cwd, "cache-link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	code := h.run("--backend=fake", "run", "--writable-root", link, "--", "true")
	if code != exitSbxError || !strings.Contains(h.stderr.String(), "symbolic link to "+target) || !strings.Contains(h.stderr.String(), "--writable-root") {
		t.Fatalf("exit %d, stderr %q: want a refusal naming the link's target and the flag", code, h.stderr.String())
	}
	if h.fake.request() != nil {
		t.Error("the backend ran the command")
	}
}

// Links on the way to a writable root are followed only where no sandboxed
// command can have planted them: every backend then gets one link-free
// path, and a link replaced by an earlier run cannot redirect a grant.
func TestRun_WritableRootLinksOnTheWay(t *testing.T) {
	mkdir := func(t *testing.T, p string) string {
		t.Helper()
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		r, _ := filepath.EvalSymlinks(p)
		return r
	}
	link := func(t *testing.T, target, at string) {
		t.Helper()
		if err := os.Symlink(target, at); err != nil {
			t.Fatal(err)
		}
	}
	// The test's directories are under /tmp, which writable_tmp would make
	// a place where links can be planted.
	newH := func(t *testing.T) *harness {
		h := newHarness(t)
		h.vars["SBX_WRITABLE_TMP"] = "false"
		return h
	}
	t.Run("OutsideWritablePlacesIsResolved", func(t *testing.T) {
		h := newH(t)
		real := mkdir(t, filepath.Join(h.home, "data", "cache", "go-build"))
		link(t, filepath.Join(h.home, "data", "cache"), filepath.Join(h.home, "dotcache"))
		if code := h.run("--backend=fake", "run", "--writable-root", filepath.Join(h.home, "dotcache", "go-build"), "--", "true"); code != 0 {
			t.Fatalf("exit %d: %s", code, h.stderr.String())
		}
		if got := h.fake.request().Policy.WritableRoots; len(got) != 1 || got[0] != real {
			t.Errorf("writable roots %q, want [%q] (the link resolved)", got, real)
		}
	})
	t.Run("InsideTheWorkspaceIsRefused", func(t *testing.T) {
		h := newH(t)
		mkdir(t, filepath.Join(h.home, "secret", "out"))
		link(t, filepath.Join(h.home, "secret"), filepath.Join(h.cwd, "build"))
		code := h.run("--backend=fake", "run", "--writable-root", filepath.Join(h.cwd, "build", "out"), "--", "true")
		if code != exitSbxError || !strings.Contains(h.stderr.String(), "through the symbolic link "+filepath.Join(h.cwd, "build")) {
			t.Fatalf("exit %d, stderr %q: want a refusal naming the planted link", code, h.stderr.String())
		}
	})
	t.Run("PlantedInsideAnEarlierLinksTargetIsRefused", func(t *testing.T) {
		h := newH(t)
		mkdir(t, filepath.Join(h.home, "secret", "out"))
		// ~/dotcache -> workspace/x (made by the user), workspace/x ->
		// ~/secret (planted by a sandboxed command).
		link(t, filepath.Join(h.home, "secret"), filepath.Join(h.cwd, "x"))
		link(t, filepath.Join(h.cwd, "x"), filepath.Join(h.home, "dotcache"))
		code := h.run("--backend=fake", "run", "--writable-root", filepath.Join(h.home, "dotcache", "out"), "--", "true")
		if code != exitSbxError || !strings.Contains(h.stderr.String(), "through the symbolic link "+filepath.Join(h.cwd, "x")) {
			t.Fatalf("exit %d, stderr %q: want a refusal naming the planted link", code, h.stderr.String())
		}
	})
}

func TestRun_WritableRootThroughALinkInAWritableTmpIsRefused(t *testing.T) {
	h := newHarness(t) // writable_tmp (the default); the test's directories are under /tmp
	if err := os.MkdirAll(filepath.Join(h.home, "data", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(h.home, "data"), filepath.Join(h.home, "l")); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h.home, "/tmp/") {
		t.Skipf("the test directory %s is not under /tmp", h.home)
	}
	code := h.run("--backend=fake", "run", "--writable-root", filepath.Join(h.home, "l", "x"), "--", "true")
	if code != exitSbxError || !strings.Contains(h.stderr.String(), "through the symbolic link") {
		t.Fatalf("exit %d, stderr %q: a link under a writable /tmp must not be followed", code, h.stderr.String())
	}
}
