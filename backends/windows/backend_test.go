package windows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
)

// fakePlatform is a platform with given facts that records runs.
type fakePlatform struct {
	facts HostFacts
	err   error
	runs  []*RunInput
	setup []Mode
	onRun func()
}

func (p *fakePlatform) Facts(context.Context) (HostFacts, error) { return p.facts, p.err }
func (p *fakePlatform) Run(_ context.Context, in *RunInput) (*core.RunResult, error) {
	p.runs = append(p.runs, in)
	if p.onRun != nil {
		p.onRun()
	}
	return &core.RunResult{ExitCode: 0}, nil
}
func (p *fakePlatform) Setup(_ context.Context, m Mode, _ core.SetupRequest, _ HostFacts, _ io.Writer) error {
	p.setup = append(p.setup, m)
	return nil
}
func (p *fakePlatform) Status(context.Context, Mode, HostFacts) (core.SetupStatus, error) {
	return core.SetupStatus{Want: SetupVersion}, nil
}

func byName(bs []core.Backend, name string) *Backend {
	for _, b := range bs {
		if b.(*Backend).name == name {
			return b.(*Backend)
		}
	}
	return nil
}

func TestBackends_ServeThreeNames(t *testing.T) {
	bs := Backends()
	if len(bs) != 3 || byName(bs, NameUnelevated) == nil || byName(bs, NameElevated) == nil || byName(bs, NameAuto) == nil {
		t.Fatalf("%v", bs)
	}
}

func TestBackend_OffWindowsInfoUnavailableButPlanWorks(t *testing.T) {
	p := &fakePlatform{facts: FakeFacts(), err: errNotWindows}
	for _, b := range backendsWith(p) {
		b := b.(*Backend)
		t.Run(b.name, func(t *testing.T) {
			info, err := b.Info(context.Background())
			if err != nil || info.Available || !strings.Contains(info.Unavailable, "only on Windows") || info.Name != b.name {
				t.Fatalf("info %+v err %v", info, err)
			}
			plan, err := b.Plan(context.Background(), core.DefaultPolicy(`C:\work`))
			if err != nil || plan.Backend != b.name || len(plan.Steps) == 0 || len(plan.Detail) == 0 {
				t.Fatalf("plan %+v err %v", plan, err)
			}
			var d Detail
			if err := json.Unmarshal(plan.Detail, &d); err != nil || d.Token.Flags == 0 {
				t.Fatalf("detail %v", err)
			}
			_, err = b.Run(context.Background(), &core.RunRequest{Policy: core.DefaultPolicy(`C:\work`), Accept: core.Acceptance{BestEffort: true}, Argv: []string{"cmd"}})
			if !errors.Is(err, core.ErrUnsupported) {
				t.Fatalf("run err %v", err)
			}
			if err := b.Setup(context.Background(), core.SetupRequest{}, nil); !errors.Is(err, core.ErrUnsupported) {
				t.Fatalf("setup err %v", err)
			}
		})
	}
}

func TestBackend_AutoSelectsElevatedOnlyWhenSetupDone(t *testing.T) {
	tests := []struct {
		name  string
		facts func() HostFacts
		want  Mode
		why   string
	}{
		{"NoSetup", FakeFacts, ModeUnelevated, "not in place"},
		{"SetupDone", FakeSetupDone, ModeElevated, "is in place"},
		{"OldSetup", func() HostFacts { f := FakeSetupDone(); f.Setup.Version = SetupVersion + 1; return f }, ModeUnelevated, "again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.facts()
			f.Real = true
			b := byName(backendsWith(&fakePlatform{facts: f}), NameAuto)
			info, _ := b.Info(context.Background())
			if info.Facts["mode"] != string(tt.want) || !strings.Contains(info.Facts["selected"], tt.why) || !info.Available {
				t.Fatalf("info %+v", info)
			}
			plan, err := b.Plan(context.Background(), core.DefaultPolicy(`C:\work`))
			if err != nil || plan.Steps[0].Layer != "select" || plan.Steps[0].Target != string(tt.want) {
				t.Fatalf("plan steps %+v err %v", plan.Steps[:1], err)
			}
		})
	}
}

func TestBackend_ElevatedInfoNeedsSetup(t *testing.T) {
	f := FakeFacts()
	f.Real = true
	info, _ := byName(backendsWith(&fakePlatform{facts: f}), NameElevated).Info(context.Background())
	if info.Available || !info.NeedsSetup || !strings.Contains(info.Unavailable, "sbx setup") {
		t.Fatalf("%+v", info)
	}
	if info.Capabilities.Network != core.Enforced {
		t.Fatalf("caps %+v", info.Capabilities)
	}
}

func TestBackend_RunRefusesStrictUnelevatedBeforeTouchingTheOS(t *testing.T) {
	f := FakeFacts()
	f.Real = true
	p := &fakePlatform{facts: f}
	b := byName(backendsWith(p), NameUnelevated)
	_, err := b.Run(context.Background(), &core.RunRequest{Policy: core.DefaultPolicy(`C:\work`), Argv: []string{"cmd"}})
	var ne *core.NotEnforcedError
	if !errors.As(err, &ne) || len(p.runs) != 0 {
		t.Fatalf("err %v runs %d", err, len(p.runs))
	}
	if !strings.Contains(err.Error(), "network") {
		t.Fatalf("refusal does not name the network: %v", err)
	}
}

func TestBackend_RunElevatedWithoutSetupIsSetupRequired(t *testing.T) {
	f := FakeFacts()
	f.Real = true
	p := &fakePlatform{facts: f}
	_, err := byName(backendsWith(p), NameElevated).Run(context.Background(), &core.RunRequest{Policy: core.DefaultPolicy(`C:\work`), Accept: core.Acceptance{BestEffort: true}, Argv: []string{"cmd"}})
	if !errors.Is(err, core.ErrSetupRequired) || len(p.runs) != 0 {
		t.Fatalf("err %v", err)
	}
}

func TestBackend_RunPrintsDowngradesAndHandsThePlanOver(t *testing.T) {
	f := FakeFacts()
	f.Real = true
	fs := MapFS{`C:\work`: nil, `C:\work\.git`: nil}
	f.FS = fs
	p := &fakePlatform{facts: f}
	var diag bytes.Buffer
	req := &core.RunRequest{Policy: core.DefaultPolicy(`C:\work`), Accept: core.Acceptance{BestEffort: true}, Argv: []string{"cmd"}, Diagnostics: &diag}
	// The command creates a missing protected name.
	p.onRun = func() { fs[`C:\work\.sbx.toml`] = []byte("x") }
	res, err := byName(backendsWith(p), NameUnelevated).Run(context.Background(), req)
	if err != nil || len(p.runs) != 1 || p.runs[0].Mode != ModeUnelevated || len(res.Report.Elements) == 0 {
		t.Fatalf("res %+v err %v", res, err)
	}
	out := diag.String()
	if !strings.Contains(out, "sbx: windows-unelevated: downgrade: network") || !strings.Contains(out, `protected name C:\work\.sbx.toml was created`) {
		t.Fatalf("diagnostics %q", out)
	}
}

func TestBackend_SetupOfAutoIsElevated(t *testing.T) {
	f := FakeFacts()
	f.Real = true
	p := &fakePlatform{facts: f}
	bs := backendsWith(p)
	for _, name := range []string{NameAuto, NameElevated, NameUnelevated} {
		if err := byName(bs, name).Setup(context.Background(), core.SetupRequest{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.setup) != 3 || p.setup[0] != ModeElevated || p.setup[1] != ModeElevated || p.setup[2] != ModeUnelevated {
		t.Fatalf("%v", p.setup)
	}
}
