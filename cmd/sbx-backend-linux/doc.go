// Command sbx-backend-linux is the plugin serving the Linux backends:
// linux (the strongest mode that works on the host), linux-landlock and
// linux-namespaces. Each run starts the sandbox helper sbx-linux-sandbox
// (cmd/sbx-linux-sandbox) installed next to this binary; when it is
// missing, this binary is re-executed in its place (see linux.Reexec), so
// main must hand over to it first.
//
// Build it with cgo (CGO_ENABLED=1, libseccomp-dev installed): without cgo
// the seccomp layer is unavailable and the backends report so.
package main
