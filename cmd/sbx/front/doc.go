// Command sbx is the lean front end of the sbx CLI, installed as `sbx`
// beside the full CLI, `sbx-cli` (built from cmd/sbx).
//
// The full CLI links cobra, viper, gRPC and go-plugin; starting it costs
// several milliseconds before main runs, more than bubblewrap's whole run.
// This front end links only the standard library and golang.org/x/sys. It
// hands each command to a resident front-end agent (`sbx-cli front-agent`,
// started by the first `sbx run` and gone after plugin_keepalive without
// commands) over a private Unix socket, together with its standard streams,
// forwards signals, and exits with the status the agent returns. When no
// agent answers, or the agent declines (any command but `sbx run`,
// plugin_keepalive = "0", --debug, a sandboxed caller), it replaces itself
// with sbx-cli, which behaves exactly as it would have on its own.
//
// SBX_FRONT=0 skips the agent (always run sbx-cli). The protocol and the
// rules are in package cmd/sbx/internal/front; docs/architecture.md has
// the picture.
package main
