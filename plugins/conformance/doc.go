// Package conformance is the conformance kit for sbx backends: it runs the
// probes of [github.com/sbxdev/sbx/plugins/probe] inside a backend's
// sandbox under a few policies and fails where the backend lets through
// something its own report claims to enforce.
//
// A backend author calls it from a test:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Target{Name: "mybackend", Backend: mybackend.New()})
//	}
//
// or, to test the plugin binary as sbx will run it:
//
//	conformance.Run(t, conformance.Target{Name: "mybackend", Plugin: "./sbx-backend-mybackend"})
//
// The suite is gated on what the backend declares: a case whose element
// the backend reports absent (in its Info capabilities or its plan) is
// skipped with that reason, never failed; a probe that gets through an
// advisory element is logged as a leak, which is what advisory means. What
// fails: a probe that got through an element reported *enforced*, a
// backend refusing what the policy allows (a write in the workspace), a
// report that leaves out requested elements, and a strict run that goes
// ahead although the report is below enforced.
//
// [Cases] lists every case; `sbx conformance --backend=NAME` runs the same
// suite from the command line, through [Evaluate].
package conformance
