// Package sdk serves sbx backends from a plugin binary. It is the public
// SDK for backend authors, and sbx's own backends use it too.
//
// A backend implements [github.com/sbxdev/sbx/core.Backend] (Info, Plan,
// Run; optionally core.Setuper). A plugin binary named sbx-backend-NAME
// serves one or more backends (modes) in a few lines:
//
//	package main
//
//	import (
//		"github.com/sbxdev/sbx/plugins/sdk"
//		"example.com/mybackend"
//	)
//
//	func main() { sdk.Serve(mybackend.New()) }
//
// Serve speaks the go-plugin handshake and the backend.proto protocol,
// validates every policy it receives before a backend sees it, converts
// errors so that their core class survives the trip to the host, and
// carries the command's standard streams: the host's own file descriptors
// when it is on the same machine (no copying), streamed messages
// otherwise. Backends see plain io.Reader/io.Writer values (an *os.File in
// the first case) and should run commands with
// [github.com/sbxdev/sbx/plugins/sdk/proc], which hands files over as they
// are, relays terminals, forwards signals and kills the whole process tree.
//
// # Rules for backends
//
//   - Never weaken a policy silently: Plan reports every element of
//     core.Requested with its real strength, and Run refuses with
//     Report.Check(req.Accept) before doing anything.
//   - Write nothing to os.Stdout: it carries the go-plugin handshake.
//     Logs go to os.Stderr (the host shows them with its plugin log).
//   - Kill the whole process tree when Run's context is cancelled.
//   - Depend on no environment variable of the plugin process but TMPDIR,
//     TMP, TEMP, HOME, USER, LOGNAME, PATH, LANG, LANGUAGE, XDG_* and LC_*
//     (and read the command's environment from RunRequest.Env). On Linux a
//     plugin may be kept running as an agent that serves later sbx
//     processes whose environment differs in anything else.
//
// Prove a backend with the conformance suite in
// [github.com/sbxdev/sbx/plugins/conformance]; docs/writing-a-backend.md
// walks through it.
package sdk
