// Package bwrap is an example third-party sbx backend that drives the
// system's bubblewrap (bwrap): the whole file system read-only, the
// writable roots bound read-write over it, existing protected names bound
// read-only again on top, a new network namespace when the network is
// denied, a new pid namespace, a private /dev and /proc, a new session,
// and the sandbox dying with its parent.
//
// It is written only against sbx's public SDK, as an outside author would:
// [github.com/sbxdev/sbx/core] for the contract,
// [github.com/sbxdev/sbx/plugins/sdk] to serve it from a plugin binary
// (cmd/sbx-backend-bwrap), and [github.com/sbxdev/sbx/plugins/sdk/proc] to
// run the command. docs/writing-a-backend.md builds it step by step.
//
// Its report is honest about what bwrap cannot do: a protected name that
// does not exist yet cannot be kept from being created (a bind mount
// needs something to bind), reads are not restricted, and there are no
// resource limits besides the timeout. Strict runs refuse such policies;
// --best-effort runs them and prints each downgrade.
package bwrap
