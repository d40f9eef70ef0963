// Package darwin is sbx's macOS backend: it runs a command under a Seatbelt
// profile generated from the policy, with /usr/bin/sandbox-exec. It serves
// the backend names "darwin-seatbelt" and "darwin" (an alias).
//
// # Plan, then apply
//
// [BuildPlan] is a pure function of a policy and a [Host] (the Mac's
// temporary directories, a symbolic-link resolver, the user): it returns
// the [Profile] (SBPL text plus -D parameters), the report of what is
// enforced, and readable steps. It runs on any OS, so
// `sbx explain --backend=darwin-seatbelt` prints the profile on Linux too,
// and the profiles are golden-tested there (testdata/*.sb, regenerate with
// `go test ./backends/darwin -update`).
//
// Run (apply_darwin.go) is thin: build the plan, check it against the
// run's acceptance, then start
//
//	/usr/bin/sandbox-exec -p PROFILE -D WRITABLE_ROOT_0=/Users/me/ws ... -- COMMAND
//
// through plugins/sdk/proc, which handles standard streams, the terminal,
// signals, the timeout and the process-group kill. With a pids limit the
// command line goes through this binary re-executed as a small helper
// ([HelperRole]) that sets RLIMIT_NPROC and then executes sandbox-exec.
//
// # The profile
//
// Deny by default; process execution and fork allowed (children inherit the
// profile); signals and process information only within the sandbox; reads
// of everything, or (restricted) of the listed paths, the writable
// directories and the macOS runtime paths; writes only beneath the writable
// roots and temporary directories, minus the protected paths and names
// inside them; the network denied (no rule) or allowed.
//
// Nothing from the policy is ever written into the profile text: paths, and
// the regular expressions that match protected names in every letter case,
// are parameters. A path with quotes, parentheses, backslashes, newlines or
// non-ASCII characters can therefore neither break nor widen the profile;
// FuzzProfile checks that the text does not change at all with the bytes of
// the paths.
//
// # Limits
//
// Seatbelt bounds files, network and IPC, not resources. The timeout is
// enforced (the process tree is killed); the process count is approximated
// with RLIMIT_NPROC, which counts every process of the user; memory and CPU
// limits are not available to an unprivileged process on macOS; a process
// that detaches on purpose (setsid and double fork) outlives the run, still
// inside the sandbox. The report says so element by element. See
// docs/backends/darwin.md for what was and was not verified on a real Mac.
package darwin
