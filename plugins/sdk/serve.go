package sdk

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins"
	"github.com/sbxdev/sbx/plugins/internal/wire"
	"github.com/sbxdev/sbx/plugins/sdk/proc"
	"github.com/sbxdev/sbx/plugins/sdk/proc/inherit"
)

// Serve serves backends from a plugin binary and never returns. Call it from
// main once, after any re-exec'd helper role of the binary has been handled:
//
//	func main() {
//		sdk.Serve(mybackend.New())
//	}
//
// The binary must be named sbx-backend-NAME and placed next to sbx, in a
// directory of $SBX_PLUGIN_PATH, or in a configured plugin directory. Run
// directly (not by sbx), it prints a short explanation and exits 1.
//
// Serve makes the process a child subreaper, so that whatever a sandboxed
// command leaves behind is reparented to the plugin and killed with the run,
// and stops every run (killing its process tree) when the host dies: the
// host starts plugins with SIGTERM as their parent-death signal.
func Serve(backends ...core.Backend) {
	if os.Getenv(plugins.Handshake.MagicCookieKey) != plugins.Handshake.MagicCookieValue {
		fmt.Fprintln(os.Stderr, "This is an sbx backend plugin. It is started by sbx, not by hand: try `sbx backends`.")
		os.Exit(1)
	}
	// Nothing this plugin inherited beyond its standard streams reaches
	// the commands and helpers it starts (see package inherit).
	if err := inherit.OnlyStdio(); err != nil {
		fmt.Fprintln(os.Stderr, "sbx plugin: cannot keep inherited descriptors from the commands it runs:", err)
		os.Exit(1)
	}
	root, stop := context.WithCancel(context.Background())
	defer stop()

	_ = proc.BecomeSubreaper()
	ag, err := agentFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fds := fdChannel()
	grpcServer := func(opts []grpc.ServerOption) *grpc.Server {
		return plugin.DefaultGRPCServer(append(opts, transportOptions()...))
	}
	if ag != nil {
		oneProc()
		proc.SetLongLived()
		if fds, err = ag.fdReceiver(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		grpcServer = ag.grpcServer
	}
	srv, err := newServer(root, backends, fds)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	// SIGTERM (the host died, or someone asks us to stop): cancel every
	// run, let them kill their trees, then exit.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGHUP)
	exit := make(chan struct{}, 1)
	if ag != nil {
		go ag.watch(func() {
			_ = os.Remove(os.Getenv(plugins.EnvAgentFDSocket))
			exit <- struct{}{}
		})
	}
	go func() {
		select {
		case <-term:
		case <-exit:
		}
		stop()
		done := make(chan struct{})
		go func() { srv.runs.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		os.Exit(1)
	}()

	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  plugins.Handshake,
		VersionedPlugins: wire.PluginSets(srv),
		GRPCServer:       grpcServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:   "sbx-plugin",
			Level:  hclog.Error,
			Output: os.Stderr,
		}),
	})
	os.Exit(0)
}

// transportOptions tune the plugin's side of the gRPC connection for a peer
// on the same machine. Fixed flow-control windows turn off gRPC's bandwidth
// estimator, which answers every message received with a PING (and the
// peer with its acknowledgement): two extra frames, and wake-ups of both
// processes, per command. 1 MiB is far more than a local socket has in
// flight, and still bounds what a streamed command's output can buffer.
func transportOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InitialWindowSize(1 << 20),
		grpc.InitialConnWindowSize(1 << 20),
	}
}
