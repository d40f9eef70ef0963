package conformance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/probe"
)

func row(name string, deny bool, s core.Strength, requested string, got probe.Outcome) probe.Row {
	pr, _ := probe.Lookup(name)
	x := probe.Expectation{Found: true, Deny: deny, Strength: s, Element: core.Element{Boundary: pr.Boundary, Subject: "x", Requested: requested, Strength: s}}
	return probe.Row{Probe: pr, Name: name, Result: probe.Result{Probe: name, Outcome: got}, Expect: x, Verdict: probe.Judge(x, got)}
}

func TestJudgeRow_FailsOnlyWhatTheBackendClaims(t *testing.T) {
	caps := core.Capabilities{Write: core.Enforced, Protected: core.Absent, Read: core.Absent, Network: core.Advisory, ProcessTree: core.Enforced}
	for _, tt := range []struct {
		name string
		row  probe.Row
		want Status
		why  string
	}{
		{"enforced and got through fails", row(probe.WriteOutside, true, core.Enforced, core.ReqReadOnly, probe.OutcomeAllowed), Fail, "enforced"},
		{"enforced and blocked passes", row(probe.WriteOutside, true, core.Enforced, core.ReqReadOnly, probe.OutcomeBlocked), Pass, "blocked"},
		{"advisory leak passes as a leak", row(probe.TCP4Loopback, true, core.Advisory, core.ReqNetworkDeny, probe.OutcomeAllowed), Pass, "leaked"},
		{"absent in the report skips", row(probe.ReadOutside, true, core.Absent, core.ReqReadListed, probe.OutcomeAllowed), Skip, "capability absent"},
		{"absent protected capability skips", row(probe.WriteProtected, true, core.Enforced, core.ReqProtected, probe.OutcomeAllowed), Skip, "capability absent"},
		{"workspace write refused fails", row(probe.WriteWorkspace, false, core.Enforced, core.ReqWritable, probe.OutcomeBlocked), Fail, "policy allows"},
		{"host-refused raw socket passes", row(probe.RawSocket, false, core.Enforced, core.ReqNetworkAllow, probe.OutcomeBlocked), Pass, ""},
		{"a probe error fails", row(probe.WriteOutside, true, core.Enforced, core.ReqReadOnly, probe.OutcomeError), Fail, "could not"},
		{"not applicable skips", row(probe.TCP6Loopback, true, core.Enforced, core.ReqNetworkDeny, probe.OutcomeSkipped), Skip, "does not apply"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, why := judgeRow(tt.row, caps)
			if st != tt.want || !strings.Contains(why, tt.why) {
				t.Fatalf("judgeRow = %s (%s), want %s containing %q", st, why, tt.want, tt.why)
			}
		})
	}
}

func TestCases_EveryVariantHasTheContractChecksAndEveryProbe(t *testing.T) {
	want := len(Variants) * (2 + len(probe.Probes))
	if len(Cases) != want {
		t.Fatalf("%d cases, want %d", len(Cases), want)
	}
	seen := map[string]bool{}
	for _, c := range Cases {
		if seen[c.Name()] {
			t.Errorf("case %s twice", c.Name())
		}
		seen[c.Name()] = true
	}
	if !seen["default/"+CheckReport] || !seen["network-allowed/"+probe.TCP4Loopback] {
		t.Errorf("cases lack expected names: %v", Cases[:3])
	}
}

func TestMissingElements_NamesWhatAReportLeavesOut(t *testing.T) {
	p := core.DefaultPolicy("/ws")
	r := core.Report{Elements: core.Requested(p, nil)}
	if m := missingElements(p, r); len(m) != 0 {
		t.Fatalf("complete report: %v", m)
	}
	r.Elements = r.Elements[:len(r.Elements)-2]
	if m := missingElements(p, r); len(m) != 2 || m[1] != "process process tree" {
		t.Fatalf("missing = %v", m)
	}
}

// stubBackend is a backend that is unavailable, or whose Plan fails.
type stubBackend struct {
	available bool
}

func (b stubBackend) Info(context.Context) (core.Info, error) {
	return core.Info{Name: "stub", Available: b.available, Unavailable: "stubbed out"}, nil
}

func (stubBackend) Plan(context.Context, core.Policy) (*core.Plan, error) {
	return nil, errors.New("stub cannot plan")
}

func (stubBackend) Run(context.Context, *core.RunRequest) (*core.RunResult, error) {
	return nil, errors.New("stub cannot run")
}

// Evaluate returns one result per case, in the order of Cases, even when a
// variant stops early: an unavailable backend skips every case, and a
// backend that cannot plan fails every case (not only the first).
func TestEvaluate_OneResultPerCaseWhenAVariantStopsEarly(t *testing.T) {
	for _, tt := range []struct {
		name string
		b    stubBackend
		want Status
		why  string
	}{
		{"unavailable skips every case", stubBackend{available: false}, Skip, "stubbed out"},
		{"a failing Plan fails every case", stubBackend{available: true}, Fail, "stub cannot plan"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The probes never run: any existing file will do as the
			// program (an empty one, which cannot even be started).
			probePath := filepath.Join(t.TempDir(), "sbx-probe")
			if err := os.WriteFile(probePath, nil, 0o755); err != nil {
				t.Fatal(err)
			}
			res, err := Evaluate(context.Background(), "stub", tt.b, probePath)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(Cases) {
				t.Fatalf("%d results, want one per case (%d)", len(res), len(Cases))
			}
			for i, r := range res {
				if r.Case != Cases[i] || r.Status != tt.want || !strings.Contains(r.Reason, tt.why) {
					t.Errorf("result %d = %+v, want case %s %s containing %q", i, r, Cases[i].Name(), tt.want, tt.why)
				}
			}
		})
	}
}
