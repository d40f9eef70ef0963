// Package front is the small protocol between sbx's front end (the lean
// `sbx` binary built from cmd/sbx/front) and a resident sbx agent (the full
// CLI, cmd/sbx, serving `sbx-cli front-agent`).
//
// Why it exists: the full CLI links cobra, viper, gRPC and go-plugin, and
// the Go runtime initialises all of them before main runs, which costs more
// than bubblewrap's whole run. The front end links only the standard
// library and golang.org/x/sys, hands its arguments, environment, current
// directory and standard streams (as descriptors, SCM_RIGHTS) to the agent
// over a private Unix socket, forwards signals, and exits with the status the
// agent sends back. The agent runs the very same command tree in process,
// against the client's environment, and keeps its plugin connections open
// between commands.
//
// The wire format, on a SOCK_STREAM Unix socket, is a sequence of frames:
// a 4-byte big-endian length n, then n bytes of which the first is the frame
// type. The client sends one request frame (type 'R', a Request in the
// binary layout encodeRequest documents, with the client's descriptors 0, 1
// and 2 attached) and then any number of
// signal frames ('S', one byte: the signal number). The server answers with
// exactly one frame: exit ('X', a 4-byte big-endian exit code) or fallback
// ('F', a reason), which means the server ran nothing and the client must
// run the full CLI itself. The connection closing without an answer means
// the agent died; the client reports it and exits 125.
//
// Both ends check their peer with SO_PEERCRED: the same user, and the
// server also refuses processes that run sandboxed (the agent's side is
// package frontagent). This package imports little beyond the standard
// library's basics and golang.org/x/sys (no net, crypto or encoding/json),
// so that the front end stays small and fast to start.
package front
