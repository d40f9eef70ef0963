package main

import (
	"context"
	"io"
	"time"

	"github.com/sbxdev/sbx/core"
)

// backendSet is the part of the plugin host (plugins/host) the CLI uses:
// production wires it to host.Host in host.go, tests to a fake. Open
// returns a core.Backend that may also implement core.Setuper.
type backendSet interface {
	// Open returns the backend called name. An unknown name gives an
	// error matching core.ErrNotFound whose message lists the known ones.
	Open(ctx context.Context, name string) (core.Backend, error)
	// List returns every backend found, sorted by name.
	List(ctx context.Context) []listing
	// Close stops every plugin the set started.
	Close() error
}

// listing is one backend found on this host (host.Listing).
type listing struct {
	// Name is the backend (mode) name.
	Name string
	// Plugin is the path of the plugin binary serving it.
	Plugin string
	// Info is valid when Err is nil.
	Info core.Info
	// Err says why the plugin could not be started or asked.
	Err error
}

// pluginOptions is what the configuration says about plugins (host.Options).
type pluginOptions struct {
	// Dirs are extra plugin directories (plugin_dirs).
	Dirs []string
	// Pins maps plugin binary names to their expected SHA-256
	// (plugin_checksums).
	Pins map[string]string
	// Stderr receives plugin log output.
	Stderr io.Writer
	// KeepAlive keeps plugins running as per-user agents that exit after
	// this long without calls (plugin_keepalive; Linux only); 0 starts a
	// plugin per invocation.
	KeepAlive time.Duration
}

// pluginOptions returns what cfg says about plugins, with plugin log
// output going to stderr.
func (cfg *config) pluginOptions(stderr io.Writer) pluginOptions {
	return pluginOptions{Dirs: cfg.PluginDirs, Pins: cfg.PluginPins, Stderr: stderr, KeepAlive: cfg.PluginKeepAlive}
}
