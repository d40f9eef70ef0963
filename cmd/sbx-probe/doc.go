// Command sbx-probe is the program `sbx compare` and the conformance kit
// run inside a sandbox: it tries to cross each boundary of the policy
// (writes outside the workspace, into protected names, through links and
// from a detached grandchild; reads outside the read set; loopback TCP,
// UDP, HTTP and DNS; TIOCSTI, ptrace, signals, netlink and raw sockets on
// Linux) and prints one JSON line per probe. It is installed next to sbx.
// See plugins/probe.
package main
