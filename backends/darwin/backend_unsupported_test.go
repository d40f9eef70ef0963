//go:build !darwin

package darwin

import (
	"errors"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
)

func TestBackend_Info_NonDarwinIsUnavailable(t *testing.T) {
	info, err := New(Name).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Available || !strings.Contains(info.Unavailable, "macOS only") || info.Name != Name || info.OS != "darwin" {
		t.Errorf("info = %+v, want unavailable with the reason", info)
	}
}

func TestBackend_Plan_WorksOnAnyOS(t *testing.T) {
	plan, err := New(Name).Plan(t.Context(), core.DefaultPolicy("/tmp/ws"))
	if err != nil {
		t.Fatal(err)
	}
	var d Detail
	if err := jsonUnmarshal(plan.Detail, &d); err != nil {
		t.Fatal(err)
	}
	if v, _ := d.Profile.Lookup("WRITABLE_ROOT_0"); v != "/private/tmp/ws" {
		t.Errorf("WRITABLE_ROOT_0 = %q, want the macOS name /private/tmp/ws", v)
	}
}

func TestBackend_Run_NonDarwinIsUnsupported(t *testing.T) {
	_, err := New(Name).Run(t.Context(), &core.RunRequest{
		Policy: core.DefaultPolicy("/tmp/ws"),
		Accept: core.Acceptance{BestEffort: true},
		Argv:   []string{"true"},
	})
	if !errors.Is(err, core.ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported", err)
	}
}

func TestBackend_Run_NonDarwinRefusesBeforeStrengthsOrDiagnostics(t *testing.T) {
	var diag strings.Builder
	_, err := New(Name).Run(t.Context(), &core.RunRequest{
		Policy:      core.DefaultPolicy("/tmp/ws"),
		Argv:        []string{"true"},
		Diagnostics: &diag,
	})
	if !errors.Is(err, core.ErrUnsupported) || diag.Len() != 0 {
		t.Errorf("err = %v, diagnostics %q; want ErrUnsupported and nothing printed", err, diag.String())
	}
}

func TestBackend_Run_InvalidPolicyFirst(t *testing.T) {
	_, err := New(Name).Run(t.Context(), &core.RunRequest{Policy: core.DefaultPolicy("relative"), Argv: []string{"true"}})
	if !errors.Is(err, core.ErrInvalidPolicy) {
		t.Errorf("err = %v, want ErrInvalidPolicy", err)
	}
}
