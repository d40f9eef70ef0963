package main

import (
	"context"
	"fmt"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins"
	"github.com/sbxdev/sbx/plugins/host"
)

// This file is the only one that knows plugins/host: it adapts host.Host
// to backendSet, so that the rest of the CLI is tested with a fake.

// hostSet is a backendSet served by plugin processes.
type hostSet struct{ h *host.Host }

// hostBackends opens the plugin host with the configured options. sbx
// makes itself a child subreaper (Linux) so that processes a crashed plugin
// leaves behind are reparented to it and killed. With a keep-alive
// (plugin_keepalive), plugins run as per-user agents that later sbx
// invocations reattach to (Linux only; the host ignores it elsewhere).
func hostBackends(o pluginOptions) (backendSet, error) {
	return &hostSet{h: host.New(host.Options{
		Dirs:      o.Dirs,
		Pins:      o.Pins,
		Stderr:    o.Stderr,
		Subreaper: true,
		KeepAlive: o.KeepAlive,
	})}, nil
}

func (s *hostSet) Open(ctx context.Context, name string) (core.Backend, error) {
	b, err := s.h.Open(ctx, name)
	if err != nil {
		return nil, err // not a typed nil inside a non-nil interface
	}
	return b, nil
}

func (s *hostSet) List(ctx context.Context) []listing {
	var out []listing
	for _, l := range s.h.List(ctx) {
		out = append(out, listing{Name: l.Name, Plugin: l.Plugin, Info: l.Info, Err: l.Err})
	}
	return out
}

func (s *hostSet) Close() error { return s.h.Close() }

// KeepChild spares a child sbx started on purpose (host.Host.KeepChild).
func (s *hostSet) KeepChild(pid int) { s.h.KeepChild(pid) }

// hostDefaultBackend is the backend for this OS.
func hostDefaultBackend() string { return host.DefaultBackend() }

// pluginVersions returns the plugin protocol and API versions this sbx
// speaks.
func pluginVersions() (protocol, api string) {
	return fmt.Sprint(plugins.ProtocolVersion), plugins.APIVersion
}
