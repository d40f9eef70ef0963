package host

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// agentHost returns a host that keeps plugins as agents in a private
// runtime dir of the test.
func agentHost(t *testing.T, runtime string, keep time.Duration) *Host {
	t.Helper()
	dir := buildPlugins(t)
	h := New(Options{KeepAlive: keep, Getenv: func(k string) string {
		switch k {
		case EnvPluginPath:
			return dir
		case "XDG_RUNTIME_DIR":
			return runtime
		}
		return ""
	}})
	t.Cleanup(func() { h.Close() })
	return h
}

func TestAgent_SecondHostReattachesToTheSamePlugin(t *testing.T) {
	runtime := t.TempDir()
	h1 := agentHost(t, runtime, 30*time.Second)
	b1, err := h1.Open(context.Background(), "none")
	must(t, err)
	if !b1.p.agent || b1.p.cmd != nil {
		t.Fatal("the first host did not start an agent")
	}
	pid := b1.p.client.ReattachConfig().Pid
	t.Cleanup(func() { unix.Kill(pid, unix.SIGKILL) })
	h1.Close()

	h2 := agentHost(t, runtime, 30*time.Second)
	b2, err := h2.Open(context.Background(), "none")
	must(t, err)
	if got := b2.p.client.ReattachConfig().Pid; got != pid {
		t.Fatalf("second host reached plugin %d, want the agent %d", got, pid)
	}
	// Descriptors reach the agent through its socket: output byte-exact.
	want := randomBytes(t, 1<<20)
	src := filepath.Join(t.TempDir(), "in")
	must(t, os.WriteFile(src, want, 0o600))
	out := tempFile(t)
	req := bestEffortReq(t, "cat", src)
	req.Stdout = out
	res, err := b2.Run(context.Background(), req)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run through the agent: %v %+v", err, res)
	}
	got, _ := os.ReadFile(out.Name())
	if !bytes.Equal(got, want) {
		t.Fatalf("output through the agent: %d bytes, want %d", len(got), len(want))
	}
}

func TestAgent_ExitsAfterIdleTime(t *testing.T) {
	h := agentHost(t, t.TempDir(), time.Second)
	b, err := h.Open(context.Background(), "none")
	must(t, err)
	pid := b.p.client.ReattachConfig().Pid
	h.Close()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if unix.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	unix.Kill(pid, unix.SIGKILL)
	t.Fatal("the agent did not exit after its idle time")
}

func TestAgent_DirectoryOfAnotherModeIsRefused(t *testing.T) {
	runtime := t.TempDir()
	dir := filepath.Join(runtime, "sbx-agents-"+itoa(os.Getuid()))
	must(t, os.Mkdir(dir, 0o777))
	must(t, os.Chmod(dir, 0o777))
	if _, err := agentDir(func(k string) string { return runtime }); err == nil {
		t.Fatal("a world-writable agent directory was accepted")
	}
	// Open still works: it falls back to a plugin of its own.
	h := agentHost(t, runtime, 30*time.Second)
	b, err := h.Open(context.Background(), "none")
	must(t, err)
	if b.p.agent {
		t.Fatal("used an agent from an unsafe directory")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestAgent_PlantedSocketIsNotTrusted(t *testing.T) {
	runtime := t.TempDir()
	dir, err := agentDir(func(string) string { return runtime })
	must(t, err)
	// A socket someone else serves (here: this test process), recorded as
	// if it were the agent of another live process.
	fake := filepath.Join(dir, "fake.sock")
	l, err := net.Listen("unix", fake)
	must(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	bins := buildPlugins(t)
	pin, _ := (&Host{}).pin("sbx-backend-none")
	key, err := agentKey(filepath.Join(bins, "sbx-backend-none"), pin, os.Environ())
	must(t, err)
	st, _ := json.Marshal(agentState{Pid: os.Getppid(), Addr: fake, FDAddr: filepath.Join(dir, "fake.fd")})
	must(t, os.WriteFile(filepath.Join(dir, key+".json"), st, 0o600))

	h := agentHost(t, runtime, 30*time.Second)
	b, err := h.Open(context.Background(), "none")
	must(t, err)
	pid := b.p.client.ReattachConfig().Pid
	t.Cleanup(func() { unix.Kill(pid, unix.SIGKILL) })
	if pid == os.Getppid() {
		t.Fatal("the host trusted a socket served by another process than the recorded agent")
	}
}

func TestAgentKey_AnotherEnvironmentGetsAnotherAgent(t *testing.T) {
	bin := filepath.Join(buildPlugins(t), "sbx-backend-none")
	key := func(env ...string) string {
		k, err := agentKey(bin, "", env)
		must(t, err)
		return k
	}
	base := key("TMPDIR=/var/tmp/A", "HOME=/h", "PWD=/x")
	if key("TMPDIR=/var/tmp/B", "HOME=/h", "PWD=/x") == base {
		t.Fatal("an agent started with TMPDIR=A would serve a host with TMPDIR=B")
	}
	if key("HOME=/h", "PWD=/elsewhere", "TMPDIR=/var/tmp/A", "SBX_NETWORK=allow", "HYPERFINE_RANDOMIZED_ENVIRONMENT_OFFSET=7") != base {
		t.Fatal("changing directory (PWD), sbx's own settings, a tool's own variable or the order of variables should not start a new agent")
	}
}

func TestAgent_FailedAgentStartFallsBackToAPluginOfItsOwn(t *testing.T) {
	// A runtime directory so deep that the agent's socket path is too long
	// to bind: the agent dies before its handshake.
	deep := t.TempDir()
	for len(deep) < 120 {
		deep = filepath.Join(deep, "deeeeeeeeeeeeeeeeeeeep")
	}
	must(t, os.MkdirAll(deep, 0o700))
	h := agentHost(t, deep, 30*time.Second)
	b, err := h.Open(context.Background(), "none")
	must(t, err)
	if b.p.agent {
		t.Fatal("expected a plugin of its own")
	}
}
