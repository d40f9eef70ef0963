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

// A request's plugin host is chosen by front.KeyEnv: the variables plugin
// agents are keyed by, and the plugin search path the host reads.
func TestFrontKeyEnv_IsTheHostsAgentEnvPlusThePluginPath(t *testing.T) {
	if front.EnvPluginPath != host.EnvPluginPath {
		t.Fatalf("front.EnvPluginPath %q, host.EnvPluginPath %q", front.EnvPluginPath, host.EnvPluginPath)
	}
	for _, k := range []string{"TMPDIR", "HOME", "PATH", "XDG_RUNTIME_DIR", "LC_ALL", host.EnvPluginPath, "SHELL", "PWD", "SBX_NETWORK", "FOO"} {
		if want := host.AgentEnv(k) || k == host.EnvPluginPath; front.KeyEnv(k) != want {
			t.Errorf("front.KeyEnv(%q) = %v, want %v", k, !want, want)
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
