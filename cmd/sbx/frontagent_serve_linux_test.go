package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sbxdev/sbx/cmd/sbx/internal/front"
	"github.com/sbxdev/sbx/cmd/sbx/internal/frontagent"
	"github.com/sbxdev/sbx/core"
)

// agentUnderTest serves front-end requests in process, with set as the
// plugin host, and returns the socket to dial.
func agentUnderTest(t *testing.T, set func(o pluginOptions, environ []string) (backendSet, error)) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sbx-fa-") // short: socket paths are limited
	mustOK(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	l, err := frontagent.Listen(sock)
	mustOK(t, err)
	t.Cleanup(func() { l.Close() })
	d := &frontAgent{log: io.Discard, socket: sock, last: time.Now(), openSet: set}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go d.serve(c)
		}
	}()
	return sock
}

// ask sends args as a front end would, with pipes as its streams, and
// returns the answer and what the command tree wrote on stderr.
func ask(t *testing.T, sock string, env []string, dir string, args ...string) (front.Reply, string) {
	t.Helper()
	r0, w0, err := os.Pipe()
	mustOK(t, err)
	w0.Close() // stdin: empty
	r1, w1, err := os.Pipe()
	mustOK(t, err)
	r2, w2, err := os.Pipe()
	mustOK(t, err)
	defer r0.Close()
	defer r1.Close()
	defer r2.Close()
	c, err := front.Dial(sock)
	mustOK(t, err)
	defer c.Close()
	mask := uint32(0o027)
	err = c.Send(front.Request{Version: front.Version, Args: args, Env: env, Dir: dir, Umask: &mask},
		[3]int{int(r0.Fd()), int(w1.Fd()), int(w2.Fd())})
	// The agent has its own copies now: stderr ends when it closes them.
	w1.Close()
	w2.Close()
	mustOK(t, err)
	reply, err := c.Wait()
	mustOK(t, err)
	b, _ := io.ReadAll(r2)
	return reply, string(b)
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestFrontAgent_ServesRunsWithTheCallersEnvironmentAndDeclinesTheRest(t *testing.T) {
	h := newHarness(t)
	sock := agentUnderTest(t, func(o pluginOptions, environ []string) (backendSet, error) {
		if o.KeepAlive <= 0 {
			return nil, errFallback // as the real agent does
		}
		return h.set, nil
	})
	env := []string{"HOME=" + h.home, "XDG_CONFIG_HOME=" + filepath.Join(h.home, ".config"), "PATH=/usr/bin:/bin", "FOO=bar"}

	reply, stderr := ask(t, sock, env, h.cwd, "--backend=fake", "run", "--", "true")
	if reply.Fallback || reply.Code != 0 {
		t.Fatalf("run: %+v, stderr %q", reply, stderr)
	}
	req := h.fake.request()
	if req == nil || req.Policy.Workspace != h.cwd || req.Umask == nil || *req.Umask != 0o027 || !contains(req.Env, "FOO=bar") {
		t.Fatalf("the backend got %+v; want the caller's directory, umask and environment", req)
	}

	for _, args := range [][]string{{"version"}, {"--backend=fake", "config"}} {
		if reply, _ := ask(t, sock, env, h.cwd, args...); !reply.Fallback {
			t.Errorf("%q: %+v, want a fallback (only runs are served)", args, reply)
		}
	}
	if reply, _ := ask(t, sock, append(env, "SBX_PLUGIN_KEEPALIVE=0"), h.cwd, "--backend=fake", "run", "--", "true"); !reply.Fallback {
		t.Errorf("plugin_keepalive = 0: %+v, want a fallback", reply)
	}
}

func TestFrontAgent_APanicFailsOneCommandAndTheAgentServesOn(t *testing.T) {
	h := newHarness(t)
	h.fake.run = func(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
		if req.Argv[0] == "boom" {
			panic("boom")
		}
		return &core.RunResult{ExitCode: 3}, nil
	}
	sock := agentUnderTest(t, func(pluginOptions, []string) (backendSet, error) { return h.set, nil })
	env := []string{"HOME=" + h.home, "XDG_CONFIG_HOME=" + filepath.Join(h.home, ".config"), "PATH=/usr/bin:/bin"}
	reply, stderr := ask(t, sock, env, h.cwd, "--backend=fake", "run", "--", "boom")
	if reply.Fallback || reply.Code != exitSbxError || !strings.Contains(stderr, "internal error in the front-end agent") {
		t.Fatalf("panicking run: %+v, stderr %q; want exit %d and a message", reply, stderr, exitSbxError)
	}
	if reply, stderr := ask(t, sock, env, h.cwd, "--backend=fake", "run", "--", "ok"); reply.Code != 3 {
		t.Fatalf("the next run: %+v, stderr %q; want exit 3", reply, stderr)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestFrontAgent_KeepsAHostPerPluginConfiguration(t *testing.T) {
	d := &frontAgent{log: io.Discard}
	t.Cleanup(func() {
		for _, s := range d.sets {
			s.Close()
		}
	})
	env := []string{"HOME=/h", "PATH=/bin"}
	get := func(o pluginOptions) backendSet {
		t.Helper()
		o.Stderr = io.Discard
		s, err := d.backends(o, env)
		mustOK(t, err)
		return s.(sharedSet).backendSet
	}
	a := get(pluginOptions{KeepAlive: 5 * time.Minute})
	if get(pluginOptions{KeepAlive: 5 * time.Minute}) != a {
		t.Error("the same configuration got another host")
	}
	if get(pluginOptions{KeepAlive: 5 * time.Minute, Dirs: []string{"/p"}}) == a {
		t.Error("another plugin_dirs got the same host")
	}
	if _, err := d.backends(pluginOptions{Stderr: io.Discard}, env); !errors.Is(err, errFallback) {
		t.Errorf("plugin_keepalive = 0: %v, want a fallback", err)
	}
}
