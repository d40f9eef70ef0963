// Command sbx-windows-runner runs one sandboxed command for the Windows
// backend's elevated mode. The plugin starts it as a sandbox user with
// CreateProcessWithLogonW; it restricts its own token, starts the command
// suspended inside a Job object, and talks to the plugin over a named pipe
// (see package backends/windows/protocol). It is not meant to be run by
// hand.
//
// It needs no manifest beyond the default (asInvoker).
package main
