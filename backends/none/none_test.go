package none

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

func TestInfo_AvailableEverywhereEnforcingNothing(t *testing.T) {
	info, err := New().Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "none" || info.OS != "any" || !info.Available || !info.Capabilities.TTY {
		t.Errorf("info %+v", info)
	}
	c := info.Capabilities
	for name, s := range map[string]core.Strength{"write": c.Write, "protected": c.Protected, "read": c.Read,
		"network": c.Network, "limits": c.Limits, "process_tree": c.ProcessTree} {
		if s != core.Absent {
			t.Errorf("capability %s is %s, want absent", name, s)
		}
	}
}

func TestPlan_OnlyUnrestrictedElementsAreEnforced(t *testing.T) {
	p := core.DefaultPolicy("/work")
	p.WritableRoots = []string{"/data"}
	p.Limits = core.Limits{Timeout: time.Minute, MemoryBytes: 1 << 30}
	plan, err := New().Plan(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	want := core.Requested(p, tmpDirs())
	if len(plan.Report.Elements) != len(want) {
		t.Fatalf("%d elements, want %d (every requested one, in order)", len(plan.Report.Elements), len(want))
	}
	for i, el := range plan.Report.Elements {
		if el.Boundary != want[i].Boundary || el.Subject != want[i].Subject {
			t.Errorf("element %d is %s %s, want %s %s", i, el.Boundary, el.Subject, want[i].Boundary, want[i].Subject)
		}
		if el.Unrestricted() {
			if el.Strength != core.Enforced || el.Mechanism != MechanismNothing {
				t.Errorf("%s: %s (%s), want enforced (nothing to restrict)", el.Subject, el.Strength, el.Mechanism)
			}
		} else if el.Strength != core.Absent || el.Note == "" {
			t.Errorf("%s: %s, want absent with a note", el.Summary(), el.Strength)
		}
	}
	if plan.Report.Backend != "none" || len(plan.Steps) != 1 || !strings.Contains(plan.Steps[0].Action, "unsandboxed") {
		t.Errorf("plan %+v", plan)
	}
	// Spot checks of what a user reads.
	strength := map[string]core.Strength{}
	for _, el := range plan.Report.Elements {
		strength[el.Subject] = el.Strength
	}
	for subject, s := range map[string]core.Strength{"/work": core.Enforced, "/data": core.Enforced, "/tmp": core.Enforced,
		".git": core.Absent, core.SubjectElsewhere: core.Absent, core.SubjectReads: core.Enforced,
		core.SubjectNetwork: core.Absent, core.SubjectTimeout: core.Absent, core.SubjectMemory: core.Absent,
		core.SubjectProcessTree: core.Absent} {
		if strength[subject] != s {
			t.Errorf("%s is %q, want %s", subject, strength[subject], s)
		}
	}
}

func TestPlan_AllowedNetworkIsEnforced(t *testing.T) {
	p := core.DefaultPolicy("/work")
	p.Network.Mode = core.NetworkAllow
	plan, _ := New().Plan(context.Background(), p)
	for _, el := range plan.Report.Elements {
		if el.Boundary == core.BoundaryNetwork && el.Strength != core.Enforced {
			t.Errorf("allowed network is %s, want enforced", el.Strength)
		}
	}
}

func TestRun_StrictRunsAreRefusedWithTheBestEffortHint(t *testing.T) {
	for _, accept := range []core.Acceptance{{}, {AllowAdvisory: true}} {
		var out bytes.Buffer
		res, err := New().Run(context.Background(), &core.RunRequest{
			Policy: core.DefaultPolicy(t.TempDir()),
			Accept: accept,
			Argv:   []string{"sh", "-c", "echo ran"},
			Stdout: &out,
		})
		if !errors.Is(err, core.ErrNotEnforced) {
			t.Fatalf("accept %+v: err %v, want ErrNotEnforced", accept, err)
		}
		var ne *core.NotEnforcedError
		if !errors.As(err, &ne) || !strings.Contains(ne.Hint, "--best-effort") || ne.Backend != "none" {
			t.Errorf("accept %+v: error %v lacks the --best-effort hint", accept, err)
		}
		if res != nil || out.Len() != 0 {
			t.Errorf("accept %+v: the command ran (%q)", accept, out.String())
		}
	}
}

func TestRun_BestEffortRunsAndReportsDowngrades(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	ws := t.TempDir()
	p := core.DefaultPolicy(ws)
	p.Env = core.EnvPolicy{Inherit: true, Set: map[string]string{"SBX_NONE": "set"}, Unset: []string{"SECRET"}}
	var out, diag bytes.Buffer
	var pid int
	res, err := New().Run(context.Background(), &core.RunRequest{
		Policy:      p,
		Accept:      core.Acceptance{BestEffort: true},
		Argv:        []string{"sh", "-c", `echo "$SBX_NONE:${SECRET-unset}:$(pwd)"; exit 5`},
		Env:         []string{"PATH=/usr/bin:/bin", "SECRET=x"},
		Stdout:      &out,
		Diagnostics: &diag,
		Started:     func(p int) { pid = p },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 5 || pid == 0 {
		t.Errorf("result %+v pid %d", res, pid)
	}
	if got, want := out.String(), "set:unset:"+ws+"\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if res.Report.Backend != "none" || len(res.Report.Downgrades()) == 0 {
		t.Errorf("report %+v lacks the downgrades", res.Report)
	}
	lines := strings.Split(strings.TrimSpace(diag.String()), "\n")
	if len(lines) != len(res.Report.Downgrades()) || !strings.Contains(diag.String(), "network network: deny is absent") {
		t.Errorf("diagnostics %q", diag.String())
	}
}

func TestRun_BestEffortAppliesTheTimeout(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	p := core.DefaultPolicy(t.TempDir())
	p.Limits.Timeout = 50 * time.Millisecond
	res, err := New().Run(context.Background(), &core.RunRequest{
		Policy: p,
		Accept: core.Acceptance{BestEffort: true},
		Argv:   []string{"sleep", "1000"},
		Env:    []string{"PATH=/usr/bin:/bin"},
	})
	if err != nil || !res.TimedOut || res.ExitCode != core.TimeoutExitCode {
		t.Fatalf("res %+v err %v", res, err)
	}
}
