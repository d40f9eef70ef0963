package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/probe"
)

// Variant is a policy the suite runs the probes under.
type Variant struct {
	// Name names the variant in case names ("default/write-outside").
	Name string
	// About says what the variant changes from core.DefaultPolicy.
	About string
	// Adjust changes the default policy; nil keeps it.
	Adjust func(p *core.Policy)
}

// Variants are the policies of the suite, each a change to
// core.DefaultPolicy (workspace writable, protected names read-only,
// temporary directories writable, network denied).
var Variants = []Variant{
	{Name: "default", About: "core.DefaultPolicy: network denied, reads unrestricted"},
	{Name: "restricted-reads", About: "reads restricted to the workspace and what programs need",
		Adjust: func(p *core.Policy) { p.Read.Mode = core.ReadRestricted }},
	{Name: "network-allowed", About: "network allowed: the network probes must get through",
		Adjust: func(p *core.Policy) { p.Network.Mode = core.NetworkAllow }},
}

// Case is one check of the suite: a probe under a variant, or a contract
// check (CheckReport, CheckStrict).
type Case struct {
	// Variant is the variant's name.
	Variant string
	// Check is a probe name or a contract check.
	Check string
}

// Name is "variant/check".
func (c Case) Name() string { return c.Variant + "/" + c.Check }

// Contract checks run under every variant, besides the probes.
const (
	// CheckReport: the plan reports every element core.Requested lists.
	CheckReport = "report-complete"
	// CheckStrict: a strict run is refused with core.ErrNotEnforced when
	// the report is below enforced.
	CheckStrict = "strict-run-refused"
)

// Cases is every case of the suite, in order: for each variant, the
// contract checks, then every probe (those for other OSes are skipped at
// run time).
var Cases = func() []Case {
	var out []Case
	for _, v := range Variants {
		out = append(out, Case{v.Name, CheckReport}, Case{v.Name, CheckStrict})
		for _, pr := range probe.Probes {
			out = append(out, Case{v.Name, pr.Name})
		}
	}
	return out
}()

// Status is how a case ended.
type Status string

const (
	// Pass: the backend did what its report claims.
	Pass Status = "pass"
	// Fail: it did not (see CaseResult.Reason).
	Fail Status = "FAIL"
	// Skip: the case does not apply, or the backend declares it does not
	// hold that element.
	Skip Status = "skip"
)

// CaseResult is the outcome of one case.
type CaseResult struct {
	// Case is the case.
	Case Case `json:"case"`
	// Status is how it ended.
	Status Status `json:"status"`
	// Verdict is the probe's verdict (empty for contract checks).
	Verdict probe.Verdict `json:"verdict,omitempty"`
	// Reason explains a failure or a skip; for a pass, what happened.
	Reason string `json:"reason"`
}

// Evaluate runs the suite against backend b (called name) with the probe
// program at probePath, and returns one result per case. It needs no
// testing.T: `sbx conformance` uses it, and Run wraps it. Each variant's
// probes run in a scratch workspace the harness makes and removes.
func Evaluate(ctx context.Context, name string, b core.Backend, probePath string) ([]CaseResult, error) {
	info, err := b.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("info of %s: %w", name, err)
	}
	var out []CaseResult
	for _, v := range Variants {
		out = append(out, evaluateVariant(ctx, name, b, info, probePath, v)...)
	}
	return out, nil
}

func evaluateVariant(ctx context.Context, name string, b core.Backend, info core.Info, probePath string, v Variant) []CaseResult {
	var out []CaseResult
	add := func(check string, st Status, verdict probe.Verdict, reason string) {
		out = append(out, CaseResult{Case: Case{v.Name, check}, Status: st, Verdict: verdict, Reason: reason})
	}
	// rest gives every case of the variant not decided yet status st, so
	// that there is one result per case even when the variant stops early.
	rest := func(st Status, reason string) []CaseResult {
		done := map[string]bool{}
		for _, r := range out {
			done[r.Case.Check] = true
		}
		for _, c := range Cases {
			if c.Variant == v.Name && !done[c.Check] {
				add(c.Check, st, "", reason)
			}
		}
		return out
	}
	if !info.Available {
		return rest(Skip, "backend unavailable on this host: "+info.Unavailable)
	}
	p := core.DefaultPolicy("/placeholder")
	if v.Adjust != nil {
		v.Adjust(&p)
	}
	env, err := probe.Prepare(p, probePath)
	if err != nil {
		return rest(Fail, "cannot prepare the probes: "+err.Error())
	}
	defer env.Close()

	plan, err := b.Plan(ctx, env.Policy)
	if err != nil {
		return rest(Fail, "Plan failed: "+err.Error())
	}
	if missing := missingElements(env.Policy, plan.Report); len(missing) > 0 {
		add(CheckReport, Fail, "", "the report leaves out: "+strings.Join(missing, ", "))
	} else {
		add(CheckReport, Pass, "", fmt.Sprintf("%d elements reported", len(plan.Report.Elements)))
	}
	out = append(out, checkStrict(ctx, b, env, plan, v.Name))

	col, err := env.Run(ctx, name, b)
	if err != nil {
		return rest(Fail, "the probes could not run: "+err.Error())
	}
	rows := map[string]probe.Row{}
	for _, r := range col.Rows {
		rows[r.Name] = r
	}
	for _, pr := range probe.Probes {
		r, ok := rows[pr.Name]
		if !ok {
			add(pr.Name, Skip, "", "not a probe for this OS")
			continue
		}
		st, reason := judgeRow(r, info.Capabilities)
		add(pr.Name, st, r.Verdict, reason)
	}
	return out
}

// judgeRow decides a probe case from its row and the declared
// capabilities.
func judgeRow(r probe.Row, caps core.Capabilities) (Status, string) {
	got := string(r.Result.Outcome)
	if r.Result.Detail != "" {
		got += " (" + r.Result.Detail + ")"
	}
	el := r.Expect.Element
	switch {
	case r.Verdict == probe.NotApplicable:
		return Skip, "does not apply: " + r.Result.Detail
	case r.Expect.Deny && capability(caps, r.Probe.Boundary, el.Requested) == core.Absent:
		return Skip, fmt.Sprintf("the backend declares no %s boundary (capability absent); got %s", r.Probe.Boundary, got)
	case r.Expect.Deny && r.Expect.Strength == core.Absent:
		return Skip, fmt.Sprintf("the plan reports %s %s absent (%s); got %s", el.Boundary, el.Subject, el.Note, got)
	case r.Verdict == probe.Failed:
		return Fail, fmt.Sprintf("got through although the report says %s %s is enforced (%s): %s", el.Boundary, el.Subject, el.Mechanism, got)
	case r.Verdict == probe.Overblocked && !r.Probe.HostMayBlock:
		return Fail, fmt.Sprintf("refused although the policy allows it (%s %s: %s): %s", el.Boundary, el.Subject, el.Requested, got)
	case r.Verdict == probe.Errored:
		return Fail, "the probe could not make its attempt: " + r.Result.Detail
	case r.Verdict == probe.Leaked:
		return Pass, "leaked, as the report admits (advisory: " + el.Note + "): " + got
	}
	return Pass, string(r.Verdict) + ": " + r.Result.Detail
}

// checkStrict runs the no-op probe strictly when the report is below
// enforced: the backend must refuse with core.ErrNotEnforced.
func checkStrict(ctx context.Context, b core.Backend, env *probe.Env, plan *core.Plan, variant string) CaseResult {
	c := Case{variant, CheckStrict}
	if plan.Report.Check(core.Acceptance{}) == nil {
		return CaseResult{Case: c, Status: Skip, Reason: "every element is enforced, so a strict run goes ahead"}
	}
	_, err := b.Run(ctx, &core.RunRequest{
		Policy: env.Policy,
		Argv:   []string{env.ProbePath, probe.ArgNoop},
		Dir:    env.Policy.Workspace,
	})
	if errors.Is(err, core.ErrNotEnforced) {
		return CaseResult{Case: c, Status: Pass, Reason: "refused: " + firstLine(err.Error())}
	}
	return CaseResult{Case: c, Status: Fail, Reason: fmt.Sprintf("the report is below enforced, but a strict run was not refused with ErrNotEnforced (err = %v)", err)}
}

// missingElements lists the requested elements a report leaves out.
func missingElements(p core.Policy, r core.Report) []string {
	have := map[string]bool{}
	for _, e := range r.Elements {
		have[string(e.Boundary)+"\x00"+e.Subject] = true
	}
	var out []string
	for _, want := range core.Requested(p, nil) {
		if !have[string(want.Boundary)+"\x00"+want.Subject] {
			out = append(out, string(want.Boundary)+" "+want.Subject)
		}
	}
	return out
}

// capability is the declared strength for a boundary (for protected
// names, the Protected capability).
func capability(c core.Capabilities, b core.Boundary, requested string) core.Strength {
	switch b {
	case core.BoundaryWrite:
		if requested == core.ReqProtected {
			return c.Protected
		}
		return c.Write
	case core.BoundaryRead:
		return c.Read
	case core.BoundaryNetwork:
		return c.Network
	case core.BoundaryLimits:
		return c.Limits
	case core.BoundaryProcess:
		return c.ProcessTree
	}
	return core.Absent
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
