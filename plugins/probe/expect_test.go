package probe

import (
	"testing"

	"github.com/sbxdev/sbx/core"
)

func TestJudge_EveryPolicyOutcomeStrengthCombination(t *testing.T) {
	for _, tt := range []struct {
		name     string
		deny     bool
		strength core.Strength
		got      Outcome
		want     Verdict
	}{
		{"denied and refused is blocked", true, core.Enforced, OutcomeBlocked, Blocked},
		{"denied, refused although only advisory, is blocked", true, core.Advisory, OutcomeBlocked, Blocked},
		{"denied, refused by the host although absent, is blocked", true, core.Absent, OutcomeBlocked, Blocked},
		{"through an enforced element is FAILED", true, core.Enforced, OutcomeAllowed, Failed},
		{"through an advisory element is leaked", true, core.Advisory, OutcomeAllowed, Leaked},
		{"through an absent element is allowed (absent)", true, core.Absent, OutcomeAllowed, Unprotected},
		{"allowed by policy and through is allowed", false, core.Enforced, OutcomeAllowed, Allowed},
		{"allowed by policy but refused is over-blocked", false, core.Enforced, OutcomeBlocked, Overblocked},
		{"a probe error is an error whatever the claim", true, core.Enforced, OutcomeError, Errored},
		{"a skipped probe is n/a", true, core.Enforced, OutcomeSkipped, NotApplicable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Judge(Expectation{Deny: tt.deny, Strength: tt.strength, Found: true}, tt.got)
			if got != tt.want {
				t.Fatalf("Judge = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPredict_AdvisoryStopsOnlyCooperativeTools(t *testing.T) {
	for _, tt := range []struct {
		deny        bool
		strength    core.Strength
		cooperative bool
		want        Verdict
	}{
		{true, core.Enforced, false, WouldBlock},
		{true, core.Enforced, true, WouldBlock},
		{true, core.Advisory, false, WouldLeak},
		{true, core.Advisory, true, WouldBlockAdvisory},
		{true, core.Absent, false, WouldBeAllowed},
		{false, core.Absent, false, Allowed},
	} {
		if got := Predict(Expectation{Deny: tt.deny, Strength: tt.strength, Cooperative: tt.cooperative}); got != tt.want {
			t.Errorf("Predict(deny=%v, %s, cooperative=%v) = %q, want %q", tt.deny, tt.strength, tt.cooperative, got, tt.want)
		}
	}
}

// report builds a report in which every requested element of p has
// strength s, except the overrides (by subject).
func report(p core.Policy, s core.Strength, over map[string]core.Strength) core.Report {
	els := core.Requested(p, nil)
	for i := range els {
		els[i].Strength = s
		if o, ok := over[els[i].Subject]; ok {
			els[i].Strength = o
		}
	}
	return core.Report{Backend: "test", Elements: els}
}

func TestExpect_MapsEachProbeToTheElementThatDecidesIt(t *testing.T) {
	p := core.DefaultPolicy("/ws")
	c := &Config{Workspace: "/ws", ProtectedExisting: "/ws/.git", ProtectedMissing: "/ws/.sbx.toml"}
	r := report(p, core.Enforced, map[string]core.Strength{core.SubjectNetwork: core.Advisory, ".sbx.toml": core.Absent})
	for _, tt := range []struct {
		probe    string
		subject  string
		deny     bool
		strength core.Strength
	}{
		{WriteWorkspace, "/ws", false, core.Enforced},
		{WriteOutside, core.SubjectElsewhere, true, core.Enforced},
		{WriteProtected, ".git", true, core.Enforced},
		{CreateProtected, ".sbx.toml", true, core.Absent},
		{WriteSymlinkOut, core.SubjectElsewhere, true, core.Enforced},
		{WriteHardlinkOut, core.SubjectElsewhere, true, core.Enforced},
		{WriteDetached, core.SubjectElsewhere, true, core.Enforced},
		{ReadOutside, core.SubjectReads, false, core.Enforced},
		{TCP4Loopback, core.SubjectNetwork, true, core.Advisory},
		{HTTPProxyEnv, core.SubjectNetwork, true, core.Advisory},
		{DNSQuery, core.SubjectNetwork, true, core.Advisory},
		{SignalOutside, core.SubjectProcessTree, true, core.Enforced},
		{TIOCSTI, core.SubjectProcessTree, true, core.Enforced},
	} {
		t.Run(tt.probe, func(t *testing.T) {
			pr, ok := Lookup(tt.probe)
			if !ok {
				t.Fatalf("no probe %s", tt.probe)
			}
			x := Expect(pr, p, c, r)
			if !x.Found || x.Element.Subject != tt.subject || x.Deny != tt.deny || x.Strength != tt.strength {
				t.Fatalf("Expect = found %v, subject %q, deny %v, %s; want subject %q, deny %v, %s",
					x.Found, x.Element.Subject, x.Deny, x.Strength, tt.subject, tt.deny, tt.strength)
			}
		})
	}
}

func TestExpect_PolicyChangesWhatIsDenied(t *testing.T) {
	p := core.DefaultPolicy("/ws")
	p.Network.Mode = core.NetworkAllow
	p.Read = core.ReadPolicy{Mode: core.ReadRestricted}
	p.Protected = []string{".sbx"} // .git no longer protected
	c := &Config{Workspace: "/ws", ProtectedExisting: "/ws/.git"}
	r := report(p, core.Enforced, nil)
	for probe, deny := range map[string]bool{TCP4Loopback: false, ReadOutside: true, WriteProtected: false} {
		pr, _ := Lookup(probe)
		if x := Expect(pr, p, c, r); x.Deny != deny {
			t.Errorf("%s: deny = %v, want %v (element %+v)", probe, x.Deny, deny, x.Element)
		}
	}
	// A read-only workspace: writing in it leaves the writable roots.
	p.ReadOnly = true
	pr, _ := Lookup(WriteWorkspace)
	if x := Expect(pr, p, c, report(p, core.Enforced, nil)); !x.Deny || x.Element.Subject != core.SubjectElsewhere {
		t.Errorf("read-only workspace: %+v", x)
	}
}

func TestExpect_MissingElementClaimsNothing(t *testing.T) {
	p := core.DefaultPolicy("/ws")
	pr, _ := Lookup(TCP4Loopback)
	x := Expect(pr, p, &Config{}, core.Report{})
	if x.Found || !x.Deny || x.Strength != core.Absent {
		t.Fatalf("Expect without an element = %+v, want not found, deny, absent", x)
	}
	if v := Judge(x, OutcomeAllowed); v != Unprotected {
		t.Fatalf("Judge = %q, want %q", v, Unprotected)
	}
}

func TestVerdict_IsFailureSparesHostRestrictions(t *testing.T) {
	raw, _ := Lookup(RawSocket)
	ws, _ := Lookup(WriteWorkspace)
	if !Failed.IsFailure(raw) || !Overblocked.IsFailure(ws) {
		t.Fatal("FAILED and an over-blocked workspace write must be failures")
	}
	if Overblocked.IsFailure(raw) || Leaked.IsFailure(ws) || Unprotected.IsFailure(ws) {
		t.Fatal("a host-blocked raw socket, a leak and an admitted absence are not failures")
	}
}
