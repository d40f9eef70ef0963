// Package fdpass sends a run's standard-stream file descriptors from the sbx
// host to a plugin over a Unix socket pair (SCM_RIGHTS), each batch tagged
// with a ticket that the Run request then names. It lets a local plugin give
// the sandboxed command the host's own stdin, stdout and stderr: no copying,
// no throughput cap, and a terminal stays a terminal.
//
// The socket pair is made by the host when it starts the plugin; the
// plugin's end is inherited as an extra file whose number is in the
// SBX_FD_CHANNEL environment variable. Windows has no equivalent here:
// plugins there use streamed stdio.
package fdpass
