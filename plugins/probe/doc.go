// Package probe is sbx's boundary prober: a set of small attempts to cross
// each boundary of a policy from inside a sandbox, the harness that runs
// them under a backend, and the pure mapping from what happened to a
// verdict (blocked, allowed, leaked, FAILED).
//
// It has two halves that meet at a JSON line per probe:
//
//   - Inside the sandbox, the sbx-probe program ([Main]) runs every probe
//     listed in [Probes] that applies to its OS and prints one [Result]
//     per line: {"probe":..., "outcome":"allowed"|"blocked"|"error"|
//     "skipped", "detail":...}. Each probe tries exactly one thing (write
//     outside the workspace, dial a loopback listener, ptrace a child...)
//     and reports what the OS said (the errno in Detail).
//   - Outside, the harness ([Prepare], [Env.Run]) builds a scratch
//     workspace and an "outside" directory, starts the loopback listeners
//     (TCP, UDP, HTTP, a fake DNS server) and a process to signal, runs
//     sbx-probe under a backend, and judges each result against the
//     backend's plan with [Expect] and [Judge].
//
// The judgement is what makes probes useful to someone comparing backends
// or writing one: a probe that got through where the backend's report
// says the element is *enforced* is a failure ([Failed]); through where
// it says *advisory* is a leak ([Leaked]); through where it says *absent*
// is what the backend admitted ([Unprotected]). `sbx compare` shows these
// verdicts side by side and plugins/conformance fails a test on them.
//
// The package imports only core and the standard library (plus x/sys for
// the Linux-specific probes), so the probe program stays small and starts
// fast inside a sandbox.
package probe
