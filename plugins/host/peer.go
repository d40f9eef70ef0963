package host

import (
	"net"

	"github.com/sbxdev/sbx/plugins/internal/peercred"
)

// CheckPeer vets the process at the other end of c before a program acts on
// its behalf (as plugin agents do for hosts, and the sbx front-end agent
// does for front ends): it must run as this process's user, in this pid
// namespace, and without no_new_privs, which every sandboxed process has —
// so that a command inside a sandbox can never ask a process outside it to
// run something under a looser policy. Linux only; elsewhere it refuses.
func CheckPeer(c *net.UnixConn) error { return peercred.Check(c) }
