// Package inherit keeps a process from passing on the descriptors it
// inherited. A program started with a descriptor above 2 open and not
// close-on-exec (a pipe of the shell that started it, a file the caller
// opened with `exec 5>file`) would hand it to every program it starts:
// in sbx, to plugins, to resident agents serving later callers, and to
// sandboxed commands, where a writable descriptor is a way around the
// write boundary. [OnlyStdio], called first thing in sbx, in plugins and
// in the Linux sandbox helper, makes every descriptor above 2
// close-on-exec, so a command only ever gets standard input, output and
// error, whoever started sbx's resident processes.
//
// It is a package of its own so that the lean binaries (the Linux sandbox
// helper) can call it without linking the rest of proc.
package inherit
