// Package spare is the spare's side of a hand-over: a process started
// ahead of a run by proc.StartSpare (a sandbox helper, say) calls [Await]
// first thing, and returns from it with the run's standard streams, extra
// files, working directory, umask and controlling terminal in place, as if
// proc had just started it for that run.
//
// It is a package of its own so that a helper binary can take a run
// without linking the rest of proc (os/exec, the pty code, core). Linux
// only: spares serve long-lived plugin agents, which only Linux has.
//
// # Wire format
//
// proc sends one message on a SOCK_SEQPACKET socket pair, at fd [ControlFD]
// in the spare: the bytes of [Header.Encode] (version, flags, umask, working
// directory) and, as SCM_RIGHTS, the descriptors to install at 0, 1, 2,
// 3, ... in order (stdin, stdout, stderr, then the run's extra files). End
// of file instead of a message means the parent no longer needs the spare.
package spare
