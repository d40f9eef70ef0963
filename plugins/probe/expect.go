package probe

import (
	"slices"

	"github.com/sbxdev/sbx/core"
)

// Verdict is the judgement of one probe under one backend: what happened
// (or, from a plan alone, what would happen) measured against what the
// policy asks and what the backend's report claims.
type Verdict string

const (
	// Blocked: the policy denies it and the OS refused it.
	Blocked Verdict = "blocked"
	// Allowed: the policy allows it and it went through.
	Allowed Verdict = "allowed"
	// Leaked: the policy denies it, the backend says it holds the element
	// only advisorily, and it went through: the advertised weakness.
	Leaked Verdict = "leaked"
	// Unprotected: the policy denies it, the backend says the element is
	// absent, and it went through: what the backend admitted.
	Unprotected Verdict = "allowed (absent)"
	// Failed: the policy denies it, the backend says the element is
	// enforced, and it went through: the backend does not do what it
	// claims.
	Failed Verdict = "FAILED"
	// Overblocked: the policy allows it, yet it was refused (a backend
	// that breaks what it should let through, or a host restriction; see
	// Probe.HostMayBlock).
	Overblocked Verdict = "blocked (allowed by policy)"
	// Errored: the probe could not make its attempt.
	Errored Verdict = "error"
	// NotApplicable: the probe does not apply here.
	NotApplicable Verdict = "n/a"

	// WouldBlock, WouldBlockAdvisory, WouldLeak and WouldBeAllowed are the
	// verdicts predicted from a plan alone (sbx compare --explain).
	WouldBlock         Verdict = "would block"
	WouldBlockAdvisory Verdict = "would block (advisory)"    // steered away; a program ignoring the advice leaks
	WouldLeak          Verdict = "would leak"                // advisory element a raw probe gets through
	WouldBeAllowed     Verdict = "would be allowed (absent)" // nothing holds it
)

// IsFailure reports whether v means the backend did not do what it claims:
// FAILED, or (for probes the host itself never blocks) refusing what the
// policy allows. Errors are not failures of the backend; callers decide.
func (v Verdict) IsFailure(pr Probe) bool {
	return v == Failed || (v == Overblocked && !pr.HostMayBlock)
}

// Expectation is what a probe should meet under a policy and a backend's
// report: whether the policy denies it, and how strongly the backend
// claims to hold the element that decides it.
type Expectation struct {
	// Element is the report's element for the probe (Requested and
	// Strength filled in); zero when the report lacks it.
	Element core.Element
	// Found is false when the report has no element for the probe; the
	// strength is then taken as absent (fail closed: nothing claimed).
	Found bool
	// Deny is true when the policy denies what the probe tries.
	Deny bool
	// Strength is how strongly the backend claims to hold the element.
	Strength core.Strength
	// Cooperative is the probe's Cooperative flag.
	Cooperative bool
}

// Expect derives a probe's expectation from the policy it runs under, the
// harness config and the backend's report. It is pure.
func Expect(pr Probe, p core.Policy, c *Config, r core.Report) Expectation {
	subject := pr.Subject(p, c)
	boundary := pr.Boundary
	x := Expectation{Cooperative: pr.Cooperative, Strength: core.Absent}
	for _, e := range r.Elements {
		if e.Boundary == boundary && e.Subject == subject {
			x.Element, x.Found, x.Strength = e, true, e.Strength
			break
		}
	}
	if x.Found {
		x.Deny = !x.Element.Unrestricted()
	} else {
		// No element: decide from the policy alone, and claim nothing.
		x.Deny = policyDenies(boundary, subject, p)
	}
	return x
}

// policyDenies says whether p denies what a probe on (boundary, subject)
// tries, without a report.
func policyDenies(b core.Boundary, subject string, p core.Policy) bool {
	switch b {
	case core.BoundaryRead:
		return p.Read.Mode == core.ReadRestricted
	case core.BoundaryNetwork:
		return p.Network.Mode != core.NetworkAllow
	case core.BoundaryWrite:
		return !slices.Contains(p.WritePaths(), subject)
	default:
		return true
	}
}

// Judge maps an expectation and what the probe got to a verdict. It is the
// heart of `sbx compare` and the conformance kit:
//
//	policy   got      strength   verdict
//	allows   allowed  any        allowed
//	allows   blocked  any        blocked (allowed by policy)
//	denies   blocked  any        blocked
//	denies   allowed  enforced   FAILED
//	denies   allowed  advisory   leaked
//	denies   allowed  absent     allowed (absent)
//	any      error    any        error
//	any      skipped  any        n/a
func Judge(x Expectation, got Outcome) Verdict {
	switch got {
	case OutcomeError:
		return Errored
	case OutcomeSkipped, "":
		return NotApplicable
	}
	allowed := got == OutcomeAllowed
	if !x.Deny {
		if allowed {
			return Allowed
		}
		return Overblocked
	}
	if !allowed {
		return Blocked
	}
	switch x.Strength {
	case core.Enforced:
		return Failed
	case core.Advisory:
		return Leaked
	default:
		return Unprotected
	}
}

// Predict is the verdict a plan alone gives, without running anything:
// what the backend claims would happen to the probe.
func Predict(x Expectation) Verdict {
	if !x.Deny {
		return Allowed
	}
	switch x.Strength {
	case core.Enforced:
		return WouldBlock
	case core.Advisory:
		if x.Cooperative {
			return WouldBlockAdvisory
		}
		return WouldLeak
	default:
		return WouldBeAllowed
	}
}
