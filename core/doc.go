// Package core is sbx's policy model and the contract every backend
// implements. It imports only the standard library: no OS-specific package,
// no RPC, no configuration library.
//
// # Policy
//
// A [Policy] says where a sandboxed command may write (the workspace and
// extra writable roots, minus protected names such as .git directly inside
// them), what it may read, whether it may use the network, how its
// environment is built, and which limits apply. [DefaultPolicy] is the
// starting point; [Policy.Validate] returns every problem at once.
//
// # Boundaries and reports
//
// Each element of a policy ("/work writable", ".git read-only", "network
// deny", "memory 1GiB") is held by a backend at one of three strengths:
// [Enforced] (the OS refuses), [Advisory] (cooperative programs are steered
// away, others get through) or [Absent]. A backend's [WriteBoundary] and
// [NetworkBoundary] describe the write and network elements; a [Report]
// lists all of them. [Requested] gives every backend the same list of
// elements to assess, so reports line up in `sbx compare`.
//
// # Strict by default
//
// A run is strict unless its [Acceptance] says otherwise: [Report.Check]
// refuses, with a [*NotEnforcedError] naming each element and why, a run
// whose policy asks for something the backend cannot enforce. With
// AllowAdvisory or BestEffort the run goes on and every downgrade stays in
// the report and is printed on stderr.
//
// # Backends
//
// A [Backend] has three methods: Info (what it is, whether it can run here,
// what it enforces), Plan (what it would do, without doing it) and Run.
// Backends that need a one-time setup also implement [Setuper]. Errors are
// classed by the Err* sentinels of this package; the plugin layer carries
// the class across process boundaries, so errors.Is works on both sides.
//
// # Running
//
// A [RunRequest] carries the command, its standard streams, an optional
// terminal, and channels for signals and window-size changes; [RunResult]
// gives the exit status with a signal death as 128+N, as shells report it.
package core
