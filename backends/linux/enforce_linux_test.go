//go:build linux

package linux

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/backends/linux/sandbox"
	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/sdk/proc"
)

// testbox is one escape-test setup: a workspace with a .git directory and
// an outside directory with a victim file, both under /var/tmp (visible,
// and not writable, in both modes).
type testbox struct {
	t    *testing.T
	b    *Backend
	ws   string // writable root
	out  string // outside every writable root
	self string // this test binary, run as the act program
	// spares runs every run of the test through a spare helper (see
	// spareFor).
	spares bool
}

// bothModes runs fn for linux-landlock and linux-namespaces, skipping a
// mode the host cannot run, with the reason; each mode twice: with the
// helper started for each run, as a plugin serving one command does, and
// with spare helpers started ahead of the runs, as a plugin agent does.
func bothModes(t *testing.T, fn func(t *testing.T, s *testbox)) {
	f := probeOnce()
	for _, name := range []string{NameLandlock, NameNamespaces} {
		for _, spares := range []bool{false, true} {
			sub := name
			if spares {
				sub += "/spare-helpers"
			}
			t.Run(sub, func(t *testing.T) {
				switch {
				case name == NameLandlock && f.LandlockABI < 1:
					t.Skip("Landlock unavailable: " + f.LandlockNote)
				case name == NameNamespaces && !f.UserNS:
					t.Skip("user namespaces unavailable: " + f.UserNSNote)
				case name == NameLandlock && !f.Seccomp:
					// A strict run refuses: the network is not held.
					t.Skip("seccomp unavailable: " + f.SeccompNote)
				}
				s := newSandbox(t, name)
				s.spares = spares
				fn(t, s)
			})
		}
	}
}

// spareFor, in a spare-helpers variant (keepSpares), makes b keep spare
// helpers as a plugin agent does and starts the one a run of p needs. The
// function it returns checks, once the run succeeded, that the run took it.
func (s *testbox) spareFor(b *Backend, p core.Policy) func(*core.RunResult, error) {
	if !s.spares {
		return func(*core.RunResult, error) {}
	}
	pool := b.spares
	b.KeepSpares()
	pool.inline = true
	s.t.Cleanup(pool.close)
	pl, _, err := b.plan(p)
	if err != nil {
		return func(*core.RunResult, error) {}
	}
	pool.refillSoon(kindOf(pl, b.facts().Helper))
	before := pool.taken.Load()
	return func(res *core.RunResult, err error) {
		if err == nil && res != nil && pool.taken.Load() == before {
			s.t.Errorf("the run did not take the spare helper started for it")
		}
	}
}

func newSandbox(t *testing.T, name string) *testbox {
	t.Helper()
	base, err := os.MkdirTemp("/var/tmp", "sbx-linux-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	s := &testbox{t: t, ws: filepath.Join(base, "ws"), out: filepath.Join(base, "out")}
	for _, d := range []string{s.ws + "/.git/hooks", s.ws + "/src", s.out} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(s.ws+"/.git/config", []byte("[core]\n"), 0o644))
	must(t, os.WriteFile(s.out+"/victim", []byte("original\n"), 0o644))
	s.self, err = actBinary()
	must(t, err)
	b, err := New(name, probeOnce())
	must(t, err)
	s.b = b
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// policy is the default policy for the workspace, with /tmp not writable.
func (s *testbox) policy() core.Policy {
	p := core.DefaultPolicy(s.ws)
	p.WritableTmp = false
	return p
}

// run runs an act in the sandbox under p and returns its exit code and
// output.
func (s *testbox) run(p core.Policy, actName string, args ...string) (int, string) {
	s.t.Helper()
	res, out, err := s.runRes(p, actName, args...)
	if err != nil {
		s.t.Fatalf("%s: %v", actName, err)
	}
	return res.ExitCode, out
}

func (s *testbox) runRes(p core.Policy, actName string, args ...string) (*core.RunResult, string, error) {
	var stdout, stderr bytes.Buffer
	argv := append([]string{s.self, actArg, actName}, args...)
	took := s.spareFor(s.b, p)
	res, err := s.b.Run(context.Background(), &core.RunRequest{
		Policy: p, Argv: argv, Env: os.Environ(), Stdout: &stdout, Stderr: &stderr,
	})
	took(res, err)
	out := strings.TrimSpace(stdout.String() + stderr.String())
	s.t.Logf("%s %s -> %s", actName, strings.Join(args, " "), out)
	return res, out, err
}

// runTTY runs argv on a new terminal (a --tty run) under p and returns
// the result and what the terminal showed.
func (s *testbox) runTTY(b *Backend, p core.Policy, argv ...string) (*core.RunResult, string) {
	s.t.Helper()
	var out bytes.Buffer
	took := s.spareFor(b, p)
	res, err := b.Run(context.Background(), &core.RunRequest{Policy: p, Argv: argv, Env: os.Environ(),
		Stdout: &out, TTY: &core.WindowSize{Rows: 24, Cols: 80}, Accept: core.Acceptance{BestEffort: true}})
	took(res, err)
	if err != nil {
		s.t.Fatalf("%v: %v", argv, err)
	}
	text := strings.TrimSpace(strings.ReplaceAll(out.String(), "\r", ""))
	s.t.Logf("tty %v -> %d %s", argv, res.ExitCode, text)
	return res, text
}

// refused asserts the act was refused by the OS.
func (s *testbox) refused(p core.Policy, actName string, args ...string) string {
	s.t.Helper()
	code, out := s.run(p, actName, args...)
	if code != actRefused {
		s.t.Errorf("%s %v: want refused, got exit %d: %s", actName, args, code, out)
	}
	return out
}

// allowed asserts the act succeeded.
func (s *testbox) allowed(p core.Policy, actName string, args ...string) {
	s.t.Helper()
	if code, out := s.run(p, actName, args...); code != actDone {
		s.t.Errorf("%s %v: want allowed, got exit %d: %s", actName, args, code, out)
	}
}

func absent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("%s exists: the sandbox wrote it", path)
	}
}

func unchanged(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Errorf("%s = %q, %v; want %q", path, b, err, want)
	}
}

// needSeccomp skips tests of syscall-level refusals without seccomp.
func needSeccomp(t *testing.T) {
	if f := probeOnce(); !f.Seccomp {
		t.Skip("seccomp unavailable: " + f.SeccompNote)
	}
}

// outsideSleep starts a process outside the sandbox, in dir.
func outsideSleep(t *testing.T, dir string) *exec.Cmd {
	cmd := exec.Command("sleep", "60")
	cmd.Dir = dir
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func TestEscape_WritesInsideAllowedOutsideRefused(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		s.allowed(p, "write", s.ws+"/src/new")
		s.allowed(p, "mkdir", s.ws+"/src/newdir")
		if s.b.name == NameLandlock {
			// Between two writable entries of a carved root (refer is
			// granted on both, with equal rights).
			must(t, os.Mkdir(s.ws+"/docs", 0o755))
			s.allowed(p, "rename", s.ws+"/src/new", s.ws+"/docs/new")
		}
		s.refused(p, "write", s.out+"/new")
		absent(t, s.out+"/new")
		s.refused(p, "append", s.out+"/victim")
		unchanged(t, s.out+"/victim", "original\n")
		s.refused(p, "write", "/var/tmp/sbx-escaped-"+filepath.Base(filepath.Dir(s.ws)))
		absent(t, "/var/tmp/sbx-escaped-"+filepath.Base(filepath.Dir(s.ws)))
	})
}

func TestEscape_ProtectedGitDirectory(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		s.refused(p, "append", s.ws+"/.git/config")
		unchanged(t, s.ws+"/.git/config", "[core]\n")
		s.refused(p, "write", s.ws+"/.git/hooks/pre-commit")
		absent(t, s.ws+"/.git/hooks/pre-commit")
		s.refused(p, "rename", s.ws+"/.git", s.ws+"/src/git")
		s.refused(p, "rename", s.ws+"/.git", s.ws+"/git-moved")
		if _, err := os.Stat(s.ws + "/.git/config"); err != nil {
			t.Errorf(".git was moved: %v", err)
		}
		// Names that do not exist yet cannot be created either.
		s.refused(p, "write", s.ws+"/.sbx.toml")
		absent(t, s.ws+"/.sbx.toml")
		s.refused(p, "mkdir", s.ws+"/.codex")
		absent(t, s.ws+"/.codex")
		s.refused(p, "symlink-write", s.ws+"/.agents", s.ws+"/src")
		absent(t, s.ws+"/.agents")
	})
}

func TestEscape_WorktreeGitFileProtectsItsGitdir(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		// The workspace is a worktree: .git is a file pointing at a git
		// directory that lives inside the writable tree.
		gitdir := s.ws + "/src/repo/worktrees/wt"
		must(t, os.MkdirAll(gitdir, 0o755))
		must(t, os.MkdirAll(s.ws+"/src/lib", 0o755))
		must(t, os.WriteFile(gitdir+"/HEAD", []byte("ref: refs/heads/main\n"), 0o644))
		must(t, os.RemoveAll(s.ws+"/.git"))
		must(t, os.WriteFile(s.ws+"/.git", []byte("gitdir: src/repo/worktrees/wt\n"), 0o644))
		p := s.policy()
		s.refused(p, "append", gitdir+"/HEAD")
		unchanged(t, gitdir+"/HEAD", "ref: refs/heads/main\n")
		s.refused(p, "append", s.ws+"/.git")
		s.refused(p, "rename", gitdir, s.ws+"/src/wt-moved")
		// Directories on the way to the gitdir keep their entries (nothing
		// can be created or renamed directly in them); their other
		// subdirectories stay writable.
		s.allowed(p, "write", s.ws+"/src/lib/other")
		s.refused(p, "write", s.ws+"/src/other")
	})
}

func TestEscape_DanglingProtectedSymlinkTargetCannotBeCreated(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		// .git is a symlink to a git directory that does not exist yet,
		// inside the writable tree (and, for .sbx, below a directory that
		// does not exist either): creating the target would hand git (or
		// sbx) a directory the command filled.
		must(t, os.MkdirAll(s.ws+"/src/lib", 0o755))
		must(t, os.RemoveAll(s.ws+"/.git"))
		must(t, os.Symlink("src/gitdir", s.ws+"/.git"))
		must(t, os.Symlink(s.ws+"/src/deep/er/sbx", s.ws+"/.sbx"))
		p := s.policy()
		s.refused(p, "mkdir", s.ws+"/src/gitdir")
		absent(t, s.ws+"/src/gitdir")
		s.refused(p, "write", s.ws+"/.git")
		absent(t, s.ws+"/src/gitdir")
		s.refused(p, "mkdir", s.ws+"/src/deep")
		absent(t, s.ws+"/src/deep")
		// The directory on the way keeps its other entries writable.
		s.allowed(p, "write", s.ws+"/src/lib/other")
	})
}

func TestEscape_ProtectedTargetHeldWhenTheWorkspaceIsReachedThroughASymlink(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		// The workspace is named through a symlinked ancestor, and .git
		// is a symlink to a git directory inside it: the git directory,
		// which resolves outside the workspace's spelling, must stay
		// read-only all the same. (linux-namespaces refuses to bind a
		// root named through a symlink: the run fails, which is fine.)
		base := filepath.Dir(s.ws)
		must(t, os.Symlink(base, base+"-link"))
		t.Cleanup(func() { os.Remove(base + "-link") })
		must(t, os.MkdirAll(s.ws+"/src/gitdir", 0o755))
		must(t, os.WriteFile(s.ws+"/src/gitdir/config", []byte("[core]\n"), 0o644))
		must(t, os.RemoveAll(s.ws+"/.git"))
		must(t, os.Symlink("src/gitdir", s.ws+"/.git"))
		p := core.DefaultPolicy(base + "-link/ws")
		p.WritableTmp = false
		res, out, err := s.runRes(p, "append", base+"-link/ws/src/gitdir/config")
		if err == nil && res.ExitCode != actRefused {
			t.Errorf("append to the git directory: want refused, got exit %d: %s", res.ExitCode, out)
		}
		unchanged(t, s.ws+"/src/gitdir/config", "[core]\n")
	})
}

func TestEscape_SymlinkAndHardLinkToOutside(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		s.refused(p, "symlink-write", s.ws+"/src/link", s.out+"/via-link")
		absent(t, s.out+"/via-link")
		s.refused(p, "hardlink-write", s.out+"/victim", s.ws+"/src/hard")
		unchanged(t, s.out+"/victim", "original\n")
	})
}

func TestEscape_ProcPaths(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		s.refused(p, "write", "/proc/self/root"+s.out+"/via-proc-root")
		absent(t, s.out+"/via-proc-root")
		sleeper := outsideSleep(t, s.out)
		s.refused(p, "write", "/proc/"+strconv.Itoa(sleeper.Process.Pid)+"/cwd/via-proc-cwd")
		absent(t, s.out+"/via-proc-cwd")
	})
}

func TestEscape_ChildAndDaemonisedGrandchild(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		s.refused(p, "child-write", s.out+"/by-child")
		absent(t, s.out+"/by-child")
		// The grandchild setsid()s away and would write (inside the
		// workspace, where it may) after the run ended, if it survived.
		s.allowed(p, "daemon", s.ws+"/src/daemon-started", s.ws+"/src/daemon-survived")
		time.Sleep(2 * time.Second)
		absent(t, s.ws+"/src/daemon-survived")
	})
}

// listeners starts TCP and UDP listeners on 127.0.0.1 and ::1.
type listeners struct {
	tcp []net.Listener
	udp []net.PacketConn
}

func startListeners(t *testing.T) *listeners {
	l := &listeners{}
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		tl, err := net.Listen("tcp", host+":0")
		if err != nil {
			t.Logf("no TCP listener on %s: %v", host, err)
			continue
		}
		t.Cleanup(func() { tl.Close() })
		l.tcp = append(l.tcp, tl)
		ul, err := net.ListenPacket("udp", host+":0")
		if err != nil {
			continue
		}
		t.Cleanup(func() { ul.Close() })
		l.udp = append(l.udp, ul)
	}
	if len(l.tcp) == 0 {
		t.Skip("no loopback listener possible here")
	}
	return l
}

// accepted reports whether the TCP listener got a connection (call it
// after the run: it waits only briefly, for a connection already queued).
func accepted(l net.Listener) bool {
	type deadliner interface{ SetDeadline(time.Time) error }
	_ = l.(deadliner).SetDeadline(time.Now().Add(200 * time.Millisecond))
	c, err := l.Accept()
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// received reports whether the UDP listener got a datagram.
func received(c net.PacketConn) bool {
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 512)
	_, _, err := c.ReadFrom(buf)
	return err == nil
}

func TestEscape_NetworkDenied(t *testing.T) {
	needSeccomp(t)
	bothModes(t, func(t *testing.T, s *testbox) {
		l := startListeners(t)
		p := s.policy()
		for _, tl := range l.tcp {
			s.refused(p, "tcp", tl.Addr().String())
			if accepted(tl) {
				t.Errorf("TCP listener %s got a connection", tl.Addr())
			}
		}
		for _, ul := range l.udp {
			s.refused(p, "udp", ul.LocalAddr().String())
			if received(ul) {
				t.Errorf("UDP listener %s got a datagram", ul.LocalAddr())
			}
			s.refused(p, "dns", ul.LocalAddr().String())
			if received(ul) {
				t.Errorf("DNS query reached %s", ul.LocalAddr())
			}
		}
		s.refused(p, "raw")
		s.refused(p, "icmp")
		s.refused(p, "netlink")
		s.refused(p, "io_uring")
		s.allowed(p, "unix")
	})
}

func TestEscape_NetworkAllowedWorks(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		l := startListeners(t)
		p := s.policy()
		p.Network.Mode = core.NetworkAllow
		tl := l.tcp[0]
		// The kernel completes the connection into the listen backlog
		// without an Accept, so it is accepted after the run: no race
		// between the run's start-up and the accept deadline.
		s.allowed(p, "tcp", tl.Addr().String())
		if !accepted(tl) {
			t.Errorf("listener got no connection with the network allowed")
		}
	})
}

func TestEscape_NamespacesMountsPtraceTerminalSignals(t *testing.T) {
	needSeccomp(t)
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		s.refused(p, "unshare")
		s.refused(p, "unshare-net")
		s.refused(p, "mount", s.ws+"/src")
		s.refused(p, "remount-rw", "/")
		s.refused(p, "ptrace-sibling")
		sleeper := outsideSleep(t, s.out)
		s.refused(p, "ptrace", strconv.Itoa(sleeper.Process.Pid))
		// On the run's own terminal (a --tty run), as an agent's shell
		// would have it.
		res, out := s.runTTY(s.b, p, s.self, actArg, "tiocsti")
		if res.ExitCode != actRefused || !strings.Contains(out, "operation not permitted") {
			t.Errorf("TIOCSTI must be refused by the filter (EPERM), got exit %d: %s", res.ExitCode, out)
		}
		out = s.refused(p, "tiocsti") // on a new pty (namespaces) or none
		if s.b.name == NameNamespaces && !strings.Contains(out, "operation not permitted") {
			t.Errorf("TIOCSTI on a new pty must be refused by the filter (EPERM), got: %s", out)
		}
		s.refused(p, "kill", strconv.Itoa(sleeper.Process.Pid))
		if err := sleeper.Process.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("the outside process died: %v", err)
		}
	})
}

func TestEscape_IdleSpareHelpersCannotBeEnteredTracedOrKilled(t *testing.T) {
	// A plugin agent keeps spare helpers waiting, unconfined until a run
	// is handed to them, the namespaces one already in namespaces of its
	// own (with capabilities there). A sandboxed command of another run
	// must not be able to reach them.
	needSeccomp(t)
	f := probeOnce()
	bothModes(t, func(t *testing.T, s *testbox) {
		pls := map[string]*Plan{}
		for _, name := range []string{NameLandlock, NameNamespaces} {
			if (name == NameNamespaces && !f.UserNS) || (name == NameLandlock && f.LandlockABI < 1) {
				continue
			}
			b, err := New(name, f)
			must(t, err)
			pl, _, err := b.plan(s.policy())
			must(t, err)
			pls[name] = pl
		}
		for name, pl := range pls {
			k := kindOf(pl, f.Helper)
			sp, err := proc.StartSpare(k.helper, []string{k.role, sandbox.SpareArg}, k.configure)
			must(t, err)
			t.Cleanup(sp.Close)
			pid := strconv.Itoa(sp.Pid())
			// Control: outside the sandbox the spare can be reached.
			if out, _ := exec.Command(s.self, actArg, "open-ns", pid).CombinedOutput(); strings.TrimSpace(string(out)) != "ok" {
				t.Fatalf("control: opening the %s spare's namespaces from outside: %v %s", name, err, out)
			}
			s.refused(s.policy(), "open-ns", pid)
			s.refused(s.policy(), "ptrace", pid)
			s.refused(s.policy(), "kill", pid)
			if err := unix.Kill(sp.Pid(), 0); err != nil {
				t.Errorf("the %s spare %d died: %v", name, sp.Pid(), err)
			}
		}
	})
}

func TestRun_ExitStatusAndSignalAreRelayed(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		for _, c := range []struct {
			script   string
			code     int
			signaled core.Signal
		}{{"exit 0", 0, 0}, {"exit 42", 42, 0}, {"kill -9 $$", 137, 9}} {
			res, _, err := s.runResArgv(s.policy(), "/bin/sh", "-c", c.script)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != c.code || res.Signal != c.signaled {
				t.Errorf("%q: exit %d signal %d, want %d %d", c.script, res.ExitCode, res.Signal, c.code, c.signaled)
			}
		}
	})
}

func TestRun_TimeoutKillsTheTree(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		p.Limits.Timeout = 300 * time.Millisecond
		res, _, err := s.runRes(p, "daemon", s.ws+"/src/t-started", s.ws+"/src/t-survived")
		if err != nil {
			t.Fatal(err)
		}
		res2, _, err := s.runRes(p, "sleep")
		if err != nil {
			t.Fatal(err)
		}
		if !res2.TimedOut || res2.ExitCode != core.TimeoutExitCode {
			t.Errorf("sleep: timed out %v, exit %d", res2.TimedOut, res2.ExitCode)
		}
		_ = res
		time.Sleep(2 * time.Second)
		absent(t, s.ws+"/src/t-survived")
	})
}

func TestRun_CommandNotFoundIsAClearError(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		_, _, err := s.runResArgv(s.policy(), "sbx-no-such-command")
		if !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("want ErrNotFound, got %v", err)
		}
	})
}

func (s *testbox) runResArgv(p core.Policy, argv ...string) (*core.RunResult, string, error) {
	var out bytes.Buffer
	took := s.spareFor(s.b, p)
	res, err := s.b.Run(context.Background(), &core.RunRequest{Policy: p, Argv: argv, Env: os.Environ(), Stdout: &out, Stderr: &out})
	took(res, err)
	return res, out.String(), err
}

func TestLimits_MemoryHogEndsTheRun(t *testing.T) {
	f := probeOnce()
	if !f.Cgroup.Has("memory") {
		t.Skip("no usable memory cgroup: " + f.Cgroup.Note)
	}
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		p.Limits.MemoryBytes = 64 << 20
		p.Limits.Timeout = 60 * time.Second
		res, out, err := s.runRes(p, "memhog")
		if err != nil {
			t.Fatal(err)
		}
		if res.LimitExceeded != "memory" || res.TimedOut {
			t.Errorf("limit %q, timed out %v, exit %d: %s", res.LimitExceeded, res.TimedOut, res.ExitCode, out)
		}
	})
}

func TestLimits_ForkBombIsBoundedByPids(t *testing.T) {
	f := probeOnce()
	if !f.Cgroup.Has("pids") {
		t.Skip("no usable pids cgroup: " + f.Cgroup.Note)
	}
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		p.Limits.Pids = 32
		p.Limits.Timeout = 60 * time.Second
		res, _, err := s.runRes(p, "forkbomb")
		if err != nil {
			t.Fatal(err)
		}
		if res.LimitExceeded != "pids" || res.TimedOut {
			t.Errorf("limit %q, timed out %v, exit %d", res.LimitExceeded, res.TimedOut, res.ExitCode)
		}
	})
}

func TestEscape_RestrictedReads(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		if probeOnce().LandlockABI < 1 {
			t.Skip("restricting reads needs Landlock: " + probeOnce().LandlockNote)
		}
		must(t, os.WriteFile(s.ws+"/src/mine", []byte("x"), 0o644))
		p := s.policy()
		// The act program lives in its own directory, listed so it can run.
		p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{filepath.Dir(s.self)}}
		s.refused(p, "read", s.out+"/victim")
		s.allowed(p, "read", s.ws+"/src/mine")
		s.allowed(p, "read", "/etc/passwd")
		p.Read.Paths = append(p.Read.Paths, s.out)
		s.allowed(p, "read", s.out+"/victim")
	})
}

func TestInfo_ReportsFactsAndTheSelectedMode(t *testing.T) {
	f := probeOnce()
	for _, b := range Backends() {
		info, err := b.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.Facts["landlock_abi"] == "" || info.Facts["user_namespaces"] == "" || info.Facts["cgroup_mode"] == "" {
			t.Errorf("%s: facts %v", info.Name, info.Facts)
		}
		if info.Name == NameAuto && info.Available {
			want, _ := SelectMode(f)
			if info.Facts["selected_mode"] != "linux-"+string(want) || !strings.Contains(info.Description, string(want)) {
				t.Errorf("auto: %q / %v", info.Description, info.Facts)
			}
		}
	}
}

func TestInfo_UnavailableModeSaysCauseAndFix(t *testing.T) {
	f := fakeFacts()
	f.UserNS = false
	f.UserNSNote = userNSBlocked(errors.New("operation not permitted"), "")
	b, err := New(NameNamespaces, f)
	must(t, err)
	info, _ := b.Info(context.Background())
	if info.Available || !strings.Contains(info.Unavailable, "--backend=linux-landlock") {
		t.Fatalf("info: %+v", info)
	}
	_, err = b.Plan(context.Background(), core.DefaultPolicy(t.TempDir()))
	if !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("Plan: want ErrUnavailable, got %v", err)
	}
	auto, _ := New(NameAuto, f)
	info, _ = auto.Info(context.Background())
	if !info.Available || info.Facts["selected_mode"] != NameLandlock {
		t.Fatalf("auto without user namespaces: %+v", info)
	}
}

func TestRun_AutoBackendRunsAndNamesItself(t *testing.T) {
	f := probeOnce()
	if m, why := SelectMode(f); m == "" {
		t.Skip("no Linux mode works here: " + why)
	}
	s := newSandbox(t, NameAuto)
	res, out, err := s.runRes(s.policy(), "write", s.ws+"/src/auto")
	if err != nil || res.ExitCode != actDone {
		t.Fatalf("%v %v %s", err, res, out)
	}
	if res.Report.Backend != NameAuto {
		t.Errorf("report backend %q", res.Report.Backend)
	}
	res, _, err = s.runRes(s.policy(), "write", s.out+"/auto")
	if err != nil || res.ExitCode != actRefused {
		t.Fatalf("outside write: %v %+v", err, res)
	}
}

func TestRun_StrictRunRefusesWhatIsNotEnforced(t *testing.T) {
	f := probeOnce()
	if f.LandlockABI < 1 {
		t.Skip("Landlock unavailable: " + f.LandlockNote)
	}
	f.Cgroup = CgroupFacts{Mode: "none", Note: "pretend no cgroup"}
	b, err := New(NameLandlock, f)
	must(t, err)
	p := core.DefaultPolicy(t.TempDir())
	p.Limits.MemoryBytes = 64 << 20
	_, err = b.Run(context.Background(), &core.RunRequest{Policy: p, Argv: []string{"true"}, Env: os.Environ()})
	if !errors.Is(err, core.ErrNotEnforced) {
		t.Fatalf("want ErrNotEnforced, got %v", err)
	}
	var diag bytes.Buffer
	res, err := b.Run(context.Background(), &core.RunRequest{Policy: p, Accept: core.Acceptance{BestEffort: true},
		Argv: []string{"true"}, Env: os.Environ(), Diagnostics: &diag})
	if err != nil || res.ExitCode != 0 || !strings.Contains(diag.String(), "memory") {
		t.Fatalf("best effort: %v %+v %q", err, res, diag.String())
	}
}

func TestLimits_AllLimitsApplyAndCgroupsAreRemoved(t *testing.T) {
	f := probeOnce()
	if f.Cgroup.Version == 0 {
		t.Skip("no usable cgroup: " + f.Cgroup.Note)
	}
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		p.Limits = core.Limits{MemoryBytes: 256 << 20, Pids: 64, CPU: 0.5}
		res, out, err := s.runRes(p, "write", s.ws+"/src/limited")
		if err != nil || res.ExitCode != actDone || res.LimitExceeded != "" {
			t.Fatalf("%v %+v %s", err, res, out)
		}
		for _, el := range res.Report.Elements {
			if el.Boundary == core.BoundaryLimits && f.Cgroup.Has(map[string]string{"memory": "memory", "pids": "pids", "cpu": "cpu"}[el.Subject]) && el.Strength != core.Enforced {
				t.Errorf("%s", el.Summary())
			}
		}
		for _, parent := range f.Cgroup.Parents {
			left, _ := filepath.Glob(filepath.Join(parent, "sbx-"+strconv.Itoa(os.Getpid())+"-*"))
			if len(left) > 0 {
				t.Errorf("run cgroups left behind: %v", left)
			}
		}
	})
}

// TestEscape_TIOCSTIControlWithoutFilter proves the TIOCSTI test is not
// vacuous: without the seccomp filter the same injection succeeds.
func TestEscape_TIOCSTIControlWithoutFilter(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		f := probeOnce()
		f.Seccomp, f.SeccompNote = false, "disabled for the control run"
		b, err := New(s.b.name, f)
		must(t, err)
		res, out := s.runTTY(b, s.policy(), s.self, actArg, "tiocsti")
		if res.ExitCode != actDone {
			t.Skipf("TIOCSTI is refused here even without the filter (dev.tty.legacy_tiocsti=0?): %s", out)
		}
	})
}

func TestEscape_WorkspaceInsideWritableTmp(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		base, err := os.MkdirTemp("/tmp", "sbx-linux-tmpws-")
		must(t, err)
		t.Cleanup(func() { os.RemoveAll(base) })
		must(t, os.MkdirAll(base+"/.git", 0o755))
		must(t, os.MkdirAll(base+"/src", 0o755))
		must(t, os.WriteFile(base+"/.git/config", []byte("[core]\n"), 0o644))
		p := core.DefaultPolicy(base) // writable_tmp = true
		if s.b.name == NameLandlock {
			_, _, err := s.runRes(p, "write", base+"/.git/config")
			if !errors.Is(err, core.ErrNotEnforced) || !strings.Contains(err.Error(), "writable_tmp") {
				t.Fatalf("landlock cannot hold .git under a writable /tmp: want a strict refusal, got %v", err)
			}
			return
		}
		s.refused(p, "append", base+"/.git/config")
		unchanged(t, base+"/.git/config", "[core]\n")
		s.allowed(p, "write", base+"/src/ok")
		s.allowed(p, "write", "/tmp/"+filepath.Base(base)+"-tmpfile")
		os.Remove("/tmp/" + filepath.Base(base) + "-tmpfile")
	})
}

func TestEscape_MissingGitdirInWritableTmpIsNotClaimed(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		// A worktree whose gitdir, under the writable /tmp, does not
		// exist: neither mode can keep it from being created there, so a
		// strict run is refused instead of claiming .git is protected.
		gitdir, err := os.MkdirTemp("/tmp", "sbx-linux-gitdir-")
		must(t, err)
		must(t, os.Remove(gitdir))
		t.Cleanup(func() { os.RemoveAll(gitdir) })
		must(t, os.RemoveAll(s.ws+"/.git"))
		must(t, os.WriteFile(s.ws+"/.git", []byte("gitdir: "+gitdir+"\n"), 0o644))
		p := core.DefaultPolicy(s.ws) // writable_tmp = true
		_, _, err = s.runRes(p, "mkdir", gitdir)
		if !errors.Is(err, core.ErrNotEnforced) || !strings.Contains(err.Error(), "writable_tmp") {
			t.Fatalf("want a strict refusal naming writable_tmp, got %v", err)
		}
		absent(t, gitdir)
	})
}

func TestEscape_KernelSettingsAreReadOnly(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		// Writing the current value back: harmless if it got through.
		const knob = "/proc/sys/kernel/printk_ratelimit"
		v, err := os.ReadFile(knob)
		if err != nil {
			t.Skip("no " + knob)
		}
		s.refused(s.policy(), "write-value", knob, strings.TrimSpace(string(v)))
	})
}

func TestRun_SignalsReachTheCommand(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		sigs := make(chan core.Signal, 1)
		started := make(chan struct{})
		var out bytes.Buffer
		go func() {
			<-started
			// Wait until the shell has installed its trap.
			for i := 0; i < 3000; i++ {
				if _, err := os.Stat(s.ws + "/src/ready"); err == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			sigs <- core.SIGTERM
		}()
		res, err := s.b.Run(context.Background(), &core.RunRequest{Policy: s.policy(),
			Argv: []string{"/bin/sh", "-c", `trap 'echo got-term; exit 3' TERM; : > src/ready; while :; do sleep 0.05; done`},
			Env:  os.Environ(), Stdout: &out, Stderr: &out, Signals: sigs,
			Started: func(int) { close(started) }})
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 3 || !strings.Contains(out.String(), "got-term") {
			t.Errorf("exit %d, output %q", res.ExitCode, out.String())
		}
	})
}

func TestEscape_TmpIsPrivateOrReadOnlyWhenNotWritable(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		name := "/tmp/sbx-linux-private-" + filepath.Base(filepath.Dir(s.ws))
		t.Cleanup(func() { os.Remove(name) })
		p := s.policy() // writable_tmp = false
		if s.b.name == NameNamespaces {
			// A private tmpfs: writable, gone after the run.
			s.allowed(p, "write", name)
		} else {
			s.refused(p, "write", name)
		}
		absent(t, name)
	})
}

func TestLookPath_UsesTheCommandsPath(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(dir+"/tool", []byte("#!/bin/sh\n"), 0o755))
	must(t, os.WriteFile(dir+"/data", []byte("x"), 0o644))
	env := []string{"PATH=/nonexistent:" + dir}
	if got, err := lookPath("tool", env, "/"); err != nil || got != dir+"/tool" {
		t.Errorf("tool: %q %v", got, err)
	}
	if _, err := lookPath("data", env, "/"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a non-executable file must not be found: %v", err)
	}
	if got, _ := lookPath("./x", env, "/work"); got != "/work/x" {
		t.Errorf("relative path: %q", got)
	}
	// A relative or empty PATH entry would pick the command up from the
	// directory it starts in (a workspace the sandbox may write to).
	for _, pathList := range []string{".", ":", "rel", "/nonexistent::"} {
		if got, err := lookPath("tool", []string{"PATH=" + pathList}, dir); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("PATH=%q resolved tool to %q (%v); want not found", pathList, got, err)
		}
	}
}

func TestStatusError_KeepsTheClass(t *testing.T) {
	for class, want := range map[string]error{"permission": core.ErrPermission, "not found": core.ErrNotFound, "unsupported": core.ErrUnsupported, "": core.ErrUnsupported} {
		if err := statusError(sandbox.Status{Error: "x", Class: class}); !errors.Is(err, want) {
			t.Errorf("%q: %v", class, err)
		}
	}
	if st := readStatus(strings.NewReader("garbage")); st.Error == "" {
		t.Errorf("a garbled status must be an error")
	}
	if st := readStatus(strings.NewReader("")); st.Error != "" || st.Exit != nil {
		t.Errorf("no status means the command ran: %+v", st)
	}
}

// TestTTY_RunHasANamedTerminalAndNoOther: a --tty run's tty(1) names its
// terminal (linux-namespaces binds it at /dev/console, the new pty instance
// not showing the host's), the terminal can be reopened by that name, and
// another terminal of the same user cannot be written to.
func TestTTY_RunHasANamedTerminalAndNoOther(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		p := s.policy()
		res, out := s.runTTY(s.b, p, "tty")
		if res.ExitCode != 0 || !strings.HasPrefix(out, "/dev/") {
			t.Errorf("tty: exit %d: %q", res.ExitCode, out)
		}
		res, out = s.runTTY(s.b, p, "sh", "-c", `echo reopened > "$(tty)"`)
		if res.ExitCode != 0 || !strings.Contains(out, "reopened") {
			t.Errorf("writing to its own terminal by name: exit %d: %q", res.ExitCode, out)
		}
		// Another terminal: a pty opened out here.
		master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
		must(t, err)
		defer master.Close()
		n, err := unixPtsNumber(master)
		must(t, err)
		other := "/dev/pts/" + strconv.Itoa(n)
		s.refused(p, "write-value", other, "spoofed")
		res, out = s.runTTY(s.b, p, s.self, actArg, "write-value", other, "spoofed")
		if res.ExitCode != actRefused {
			t.Errorf("a --tty run wrote to another terminal %s: %s", other, out)
		}
	})
}

func TestRun_AppliesThePlanItIsGivenOnlyForThatPolicy(t *testing.T) {
	needSeccomp(t)
	bothModes(t, func(t *testing.T, s *testbox) {
		l := startListeners(t)
		deny := s.policy()
		allow := s.policy()
		allow.Network.Mode = core.NetworkAllow
		planOf := func(p core.Policy) *core.Plan {
			cp, err := s.b.Plan(context.Background(), p)
			must(t, err)
			return cp
		}
		connect := func(p core.Policy, plan *core.Plan) (int, *core.RunResult) {
			var out bytes.Buffer
			res, err := s.b.Run(context.Background(), &core.RunRequest{Policy: p, Plan: plan,
				Argv: []string{s.self, actArg, "tcp", l.tcp[0].Addr().String()}, Env: os.Environ(), Stdout: &out, Stderr: &out})
			must(t, err)
			t.Logf("policy network=%s -> %d %s", p.Network.Mode, res.ExitCode, out.String())
			return res.ExitCode, res
		}
		// A plan made for another policy (here a looser one) is never
		// applied: the run plans its own policy.
		if code, _ := connect(deny, planOf(allow)); code != actRefused {
			t.Errorf("a run denying the network, given the plan of a policy allowing it, connected (exit %d)", code)
		}
		accepted(l.tcp[0])
		// The plan made for the run's own policy is the one applied (its
		// report is the run's).
		given := planOf(deny)
		code, res := connect(deny, given)
		if code != actRefused {
			t.Errorf("the run connected (exit %d)", code)
		}
		h := given.Handle.(*typedPlan)
		if len(res.Report.Elements) == 0 || &res.Report.Elements[0] != &h.rep.Elements[0] {
			t.Error("the run planned again instead of applying the plan it was given")
		}
	})
}

func TestEscape_OtherTerminalsOfTheUserCannotBeRead(t *testing.T) {
	// Another terminal window or ssh session of the same user: reading
	// it would take what is typed there (a sudo password), whatever the
	// policy says about reading files.
	bothModes(t, func(t *testing.T, s *testbox) {
		master, tty, err := pty.Open()
		must(t, err)
		defer master.Close()
		defer tty.Close()
		typed := func() {
			_, err := master.Write([]byte("typed in another terminal\n"))
			must(t, err)
		}
		typed()
		// Control: outside the sandbox the same program reads it.
		if out, _ := exec.Command(s.self, actArg, "read-tty", tty.Name()).CombinedOutput(); !strings.Contains(string(out), "typed in another terminal") {
			t.Fatalf("control: reading %s from outside: %s", tty.Name(), out)
		}
		typed()
		s.refused(s.policy(), "read-tty", tty.Name())
		p := s.policy()
		p.Read.Mode = core.ReadRestricted
		p.Read.Paths = []string{filepath.Dir(s.self)} // the act program itself
		typed()
		s.refused(p, "read-tty", tty.Name())
	})
}
