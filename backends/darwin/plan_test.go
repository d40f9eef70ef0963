package darwin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

// strengths maps "boundary subject" to the strength of each element.
func strengths(r core.Report) map[string]core.Strength {
	out := map[string]core.Strength{}
	for _, e := range r.Elements {
		out[string(e.Boundary)+" "+e.Subject] = e.Strength
	}
	return out
}

func TestPlan_ReportAssessesEveryRequestedElement(t *testing.T) {
	p := core.DefaultPolicy("/Users/me/ws")
	p.Limits = core.Limits{Timeout: time.Minute, MemoryBytes: 1 << 30, Pids: 100, CPU: 1}
	p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{"/Users/me/data"}}
	plan, _, err := BuildPlan(Name, p, testHost(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := core.Requested(p, []string{"/private/tmp", "/private/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T"})
	if len(plan.Report.Elements) != len(want) {
		t.Fatalf("%d elements, want %d (same list and order as core.Requested)", len(plan.Report.Elements), len(want))
	}
	for i, e := range plan.Report.Elements {
		if e.Boundary != want[i].Boundary || e.Subject != want[i].Subject || e.Requested != want[i].Requested {
			t.Errorf("element %d = %s %s %s, want %s %s %s", i, e.Boundary, e.Subject, e.Requested, want[i].Boundary, want[i].Subject, want[i].Requested)
		}
		if e.Strength == "" {
			t.Errorf("element %s %s has no strength", e.Boundary, e.Subject)
		}
		if e.Strength != core.Enforced && e.Note == "" {
			t.Errorf("element %s %s is %s without a note saying why", e.Boundary, e.Subject, e.Strength)
		}
	}
	got := strengths(plan.Report)
	for key, s := range map[string]core.Strength{
		"write /Users/me/ws":    core.Enforced,
		"write /private/tmp":    core.Enforced,
		"write .git":            core.Enforced,
		"write .sbx.toml":       core.Enforced,
		"write everything else": core.Enforced,
		"read reads":            core.Enforced,
		"network network":       core.Enforced,
		"limits timeout":        core.Enforced,
		"limits memory":         core.Absent,
		"limits pids":           core.Advisory,
		"limits cpu":            core.Absent,
		"process process tree":  core.Advisory,
	} {
		if got[key] != s {
			t.Errorf("%s: %s, want %s", key, got[key], s)
		}
	}
	if plan.Report.Backend != Name || plan.Backend != Name {
		t.Errorf("backend name %q/%q", plan.Backend, plan.Report.Backend)
	}
}

func TestPlan_PidsLimitAbsentForRoot(t *testing.T) {
	p := core.DefaultPolicy("/Users/me/ws")
	p.Limits.Pids = 10
	h := testHost(nil)
	h.UID = 0
	plan, _, err := BuildPlan(Name, p, h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := strengths(plan.Report)["limits pids"]; s != core.Absent {
		t.Errorf("pids for root: %s, want absent", s)
	}
}

func TestPlan_NonASCIIProtectedNameIsAdvisory(t *testing.T) {
	p := core.DefaultPolicy("/Users/me/ws")
	p.Protected = []string{".git", "ünï"}
	plan, _, err := BuildPlan(Name, p, testHost(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := strengths(plan.Report)
	if got["write ünï"] != core.Advisory || got["write .git"] != core.Enforced {
		t.Errorf("ünï %s, .git %s; want advisory, enforced", got["write ünï"], got["write .git"])
	}
}

func TestPlan_StrictDefaultRunIsRefusedOnlyForTheProcessTree(t *testing.T) {
	plan, _, err := BuildPlan(Name, core.DefaultPolicy("/Users/me/ws"), testHost(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = plan.Report.Check(core.Acceptance{})
	var ne *core.NotEnforcedError
	if !errors.As(err, &ne) || len(ne.Elements) != 1 || ne.Elements[0].Subject != core.SubjectProcessTree {
		t.Fatalf("strict check: %v, want a refusal naming only the process tree", err)
	}
	if err := plan.Report.Check(core.Acceptance{AllowAdvisory: true}); err != nil {
		t.Errorf("allow-advisory check: %v", err)
	}
}

func TestPlan_StepsAndDetailCarryTheProfile(t *testing.T) {
	plan, prof, err := BuildPlan(Name, core.DefaultPolicy("/Users/me/ws"), testHost(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	last := plan.Steps[len(plan.Steps)-1]
	if last.Layer != "sbpl" || last.Action != "profile" || last.Value != prof.Text {
		t.Errorf("last step %+v is not the profile", last)
	}
	var d Detail
	if err := json.Unmarshal(plan.Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.SandboxExec != SandboxExec || d.Profile == nil || d.Profile.Text != prof.Text || len(d.Profile.Params) != len(prof.Params) {
		t.Errorf("detail does not round-trip the profile: %+v", d)
	}
	var sawWrite, sawExec bool
	for _, s := range plan.Steps {
		if s.Action == "allow write" && s.Target == "/Users/me/ws" && s.Value == "WRITABLE_ROOT_0" {
			sawWrite = true
		}
		if s.Layer == "exec" && strings.HasPrefix(s.Value, SandboxExec+" -p PROFILE -D WRITABLE_ROOT_0=/Users/me/ws -D") {
			sawExec = true
		}
	}
	if !sawWrite || !sawExec {
		t.Errorf("steps lack the write grant (%v) or the command line (%v): %+v", sawWrite, sawExec, plan.Steps)
	}
}

func TestPlan_BadInputIsRefused(t *testing.T) {
	tests := []struct {
		name string
		pol  func() core.Policy
		opts Options
	}{
		{"relative workspace", func() core.Policy { return core.DefaultPolicy("ws") }, Options{}},
		{"NUL in workspace", func() core.Policy { return core.DefaultPolicy("/Users/me/w\x00s") }, Options{}},
		{"NUL in a read path", func() core.Policy {
			p := core.DefaultPolicy("/Users/me/ws")
			p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{"/a\x00"}}
			return p
		}, Options{}},
		{"proxy port out of range", func() core.Policy { return core.DefaultPolicy("/Users/me/ws") }, Options{LoopbackProxyPort: 70000}},
		{"explosive protected name", func() core.Policy {
			p := core.DefaultPolicy("/Users/me/ws")
			p.Protected = []string{strings.Repeat("s", 100)}
			return p
		}, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := BuildPlan(Name, tt.pol(), testHost(nil), tt.opts)
			if !errors.Is(err, core.ErrInvalidPolicy) {
				t.Errorf("err = %v, want ErrInvalidPolicy", err)
			}
		})
	}
}

func TestPlan_ResolverErrorFailsClosed(t *testing.T) {
	h := testHost(nil)
	h.Resolve = func(p string) (string, error) {
		if strings.HasSuffix(p, "/ws") {
			return "", errors.New("permission denied")
		}
		return p, nil
	}
	if _, _, err := BuildPlan(Name, core.DefaultPolicy("/Users/me/ws"), h, Options{}); err == nil {
		t.Error("plan built although a writable root could not be resolved")
	}
}

func TestBackend_NamesAndOptions(t *testing.T) {
	bs := Backends()
	if len(bs) != 2 {
		t.Fatalf("%d backends", len(bs))
	}
	for i, want := range []string{Name, Alias} {
		if got := bs[i].(*Backend).Name(); got != want {
			t.Errorf("backend %d is %q, want %q", i, got, want)
		}
	}
	b := New(Alias).WithOptions(Options{LoopbackProxyPort: 9})
	b.host = func() (Host, error) { return testHost(nil), nil }
	plan, err := b.Plan(t.Context(), core.DefaultPolicy("/Users/me/ws"))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Backend != Alias || !strings.Contains(plan.Steps[len(plan.Steps)-1].Value, `(remote ip "localhost:9")`) {
		t.Errorf("alias plan %q does not use its options", plan.Backend)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"A=/Users/me/ws": "A=/Users/me/ws",
		"A=a b":          "'A=a b'",
		"A=it's":         `'A=it'\''s'`,
		`R=^/x/\.[gG]`:   `'R=^/x/\.[gG]'`,
		"":               "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
