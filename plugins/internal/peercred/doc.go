// Package peercred decides whether the process at the other end of a Unix
// socket may talk to a long-lived sbx plugin agent (see plugins/host,
// Options.KeepAlive). An agent can run commands under any policy, so it must
// never answer a process that is itself inside a sandbox: the peer must run
// as the same user, in the same pid namespace, and without no_new_privs,
// which every sbx Linux sandbox sets and no sandboxed process can clear.
//
// The check uses the kernel's view of the peer (SO_PEERCRED and /proc),
// never anything the peer says about itself. It only exists on Linux;
// elsewhere agents are not used.
package peercred
