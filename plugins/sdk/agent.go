package sdk

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sbxdev/sbx/plugins"
	"github.com/sbxdev/sbx/plugins/internal/fdpass"
	"github.com/sbxdev/sbx/plugins/internal/peercred"
)

// agent holds what a plugin started as a long-lived agent (host option
// KeepAlive, Linux only) does differently from a plugin owned by one host:
// it answers only peers that pass peercred.Check, takes descriptors on a
// socket of its own instead of an inherited socket pair, and exits once it
// has been idle for a while.
type agent struct {
	idle time.Duration

	mu     sync.Mutex
	active int
	last   time.Time
}

// agentFromEnv returns the agent settings the host passed, or nil when this
// plugin is not an agent.
func agentFromEnv() (*agent, error) {
	v := os.Getenv(plugins.EnvAgentIdle)
	if v == "" {
		return nil, nil
	}
	if !peercred.Supported {
		return nil, fmt.Errorf("sdk: plugin agents are Linux-only")
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("sdk: %s=%q is not a positive duration", plugins.EnvAgentIdle, v)
	}
	return &agent{idle: d, last: time.Now()}, nil
}

// fdReceiver listens for descriptor batches on the agent's socket.
func (a *agent) fdReceiver() (*fdpass.Receiver, error) {
	path := os.Getenv(plugins.EnvAgentFDSocket)
	if path == "" {
		return nil, fmt.Errorf("sdk: agent started without %s", plugins.EnvAgentFDSocket)
	}
	_ = os.Remove(path)
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("sdk: agent descriptor socket: %w", err)
	}
	return fdpass.Serve(l, peercred.Check), nil
}

// begin and end track calls in flight, for the idle timer.
func (a *agent) begin() {
	a.mu.Lock()
	a.active++
	a.mu.Unlock()
}

func (a *agent) end() {
	a.mu.Lock()
	a.active--
	a.last = time.Now()
	a.mu.Unlock()
}

// watch calls stop once no call has been in flight for the idle time.
func (a *agent) watch(stop func()) {
	for {
		a.mu.Lock()
		wait := a.idle - time.Since(a.last)
		idle := a.active == 0 && wait <= 0
		a.mu.Unlock()
		if idle {
			stop()
			return
		}
		if wait < time.Second {
			wait = time.Second
		}
		time.Sleep(wait)
	}
}

// grpcServer builds the agent's gRPC server: peer-checked, and with every
// call counted for the idle timer.
func (a *agent) grpcServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, transportOptions()...)
	opts = append(opts,
		grpc.Creds(peercred.Creds()),
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			a.begin()
			defer a.end()
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			a.begin()
			defer a.end()
			return h(srv, ss)
		}),
	)
	return plugin.DefaultGRPCServer(opts)
}

// oneProc runs an agent's Go code on one processor (GOMAXPROCS=1), unless
// the user set GOMAXPROCS. An agent spends its life waiting on sockets and
// on the processes it started; with more processors the runtime keeps idle
// threads spinning for work on the very cores the sandboxed commands need.
// Measured on 2 cores, end to end: 0.3-1 ms less per command
// (bench/README.md).
func oneProc() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
