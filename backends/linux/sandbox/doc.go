// Package sandbox is the inside half of sbx's Linux backend: the helper
// roles that confine a command and execute it. The plugin (package
// backends/linux) plans a run, then starts a helper with one of the role
// names as argv[0] and hands it a [Config] on a pipe; the helper applies
// it to itself and executes (or, as pid 1 of a new pid namespace, starts
// and reaps) the command.
//
// The roles are served by the small binary cmd/sbx-linux-sandbox, which
// imports only this package, core, x/sys and go-landlock's syscall
// wrappers, and needs no cgo, so it starts in a fraction of the time the
// full plugin binary (gRPC, protobuf, go-plugin, cgo) takes: the plugin
// compiles the seccomp filter with libseccomp and sends the BPF program. When that binary is not installed next to
// the plugin, the plugin re-executes itself instead; both call [Reexec]
// first thing in main.
//
// Config is a small wire format of its own (not the plugin's Plan), with
// a [Version] checked by the helper, so a plugin and a helper from
// different builds fail with a clear message instead of misreading each
// other.
package sandbox
