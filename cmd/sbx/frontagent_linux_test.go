package main

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sbxdev/sbx/cmd/sbx/internal/front"
	"github.com/sbxdev/sbx/plugins/host"
)

// The front end names agents by front.KeyEnv, the host keys plugin agents
// by host.AgentEnv: if the two drifted apart, one front-end agent could
// serve callers whose plugin agents differ (another TMPDIR, say).
func TestFrontKeyEnv_IsTheHostsAgentEnvPlusThePluginPath(t *testing.T) {
	names := []string{"TMPDIR", "TMP", "TEMP", "HOME", "USER", "LOGNAME", "PATH", "LANG", "LANGUAGE",
		"XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "LC_ALL", "LC_CTYPE", host.EnvPluginPath,
		"SHELL", "PWD", "OLDPWD", "TERM", "SBX_NETWORK", "SBX_CONFIG", "FOO", "_", "SHLVL", "LD_PRELOAD"}
	for _, k := range names {
		want := host.AgentEnv(k) || k == host.EnvPluginPath
		if got := front.KeyEnv(k); got != want {
			t.Errorf("front.KeyEnv(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestSignalRelay_DeliversToSubscribersAndEndsTheRunOtherwise(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := newSignalRelay(cancel)
	in := make(chan syscall.Signal, 4)
	go r.pump(in)
	sub := make(chan os.Signal, 1)
	r.notify(sub, syscall.SIGINT)
	in <- syscall.SIGINT
	if s := <-sub; s != syscall.SIGINT {
		t.Fatalf("got %v", s)
	}
	in <- syscall.SIGWINCH // nobody asked: ignored, as by the CLI
	r.stop(sub)
	select {
	case <-ctx.Done():
		t.Fatal("a resize nobody asked for ended the run")
	case <-time.After(50 * time.Millisecond):
	}
	in <- syscall.SIGTERM // nobody asked: it would have ended the CLI
	<-ctx.Done()

	// A client that hangs up ends its run too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	in2 := make(chan syscall.Signal)
	go newSignalRelay(cancel2).pump(in2)
	close(in2)
	<-ctx2.Done()
}

// The front end names its agent after the process context, and plugin
// agents are keyed by it; the two copies of the definition must agree.
func TestProcessContext_FrontAndHostAgree(t *testing.T) {
	if f, h := front.ProcessContext(), host.ProcessContext(); f != h || f == "" {
		t.Fatalf("front.ProcessContext() = %q\nhost.ProcessContext()  = %q", f, h)
	}
}
