package wire

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

func TestErrors_ClassAndDetailsSurviveTheTrip(t *testing.T) {
	ne := &core.NotEnforcedError{Backend: "b", Hint: "h", Elements: []core.Element{
		{Boundary: core.BoundaryNetwork, Subject: core.SubjectNetwork, Requested: "deny", Strength: core.Advisory},
	}}
	pe := &core.PolicyError{Problems: []core.Problem{{Field: "workspace", Value: "x", Reason: "must be absolute"}}}
	tests := []struct {
		name  string
		err   error
		class error
	}{
		{"NotEnforced", fmt.Errorf("wrapped: %w", ne), core.ErrNotEnforced},
		{"InvalidPolicy", pe, core.ErrInvalidPolicy},
		{"SetupRequired", fmt.Errorf("run sbx setup: %w", core.ErrSetupRequired), core.ErrSetupRequired},
		{"Unsupported", fmt.Errorf("no landlock: %w", core.ErrUnsupported), core.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			back := FromStatus(ToStatus(tt.err))
			if !errors.Is(back, tt.class) {
				t.Fatalf("class lost: %v", back)
			}
			if back.Error() == "" {
				t.Fatal("message lost")
			}
		})
	}
	var gotNE *core.NotEnforcedError
	if !errors.As(FromStatus(ToStatus(ne)), &gotNE) || !reflect.DeepEqual(gotNE.Elements, ne.Elements) {
		t.Fatalf("elements lost: %+v", gotNE)
	}
	var gotPE *core.PolicyError
	if !errors.As(FromStatus(ToStatus(pe)), &gotPE) || !reflect.DeepEqual(gotPE.Problems, pe.Problems) {
		t.Fatalf("problems lost: %+v", gotPE)
	}
}

func TestConvert_PolicyRoundTrips(t *testing.T) {
	p := core.DefaultPolicy("/w")
	p.WritableRoots = []string{"/a"}
	p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{"/r"}}
	p.Env = core.EnvPolicy{Inherit: true, Set: map[string]string{"A": "1"}, Unset: []string{"B"}}
	p.Limits = core.Limits{Timeout: 3 * time.Second, MemoryBytes: 1 << 30, Pids: 5, CPU: 0.5}
	if got := PolicyFromProto(PolicyToProto(p)); !reflect.DeepEqual(got, p) {
		t.Fatalf("got %+v\nwant %+v", got, p)
	}
}

func TestConvert_UnknownStrengthIsReadAsAbsent(t *testing.T) {
	els := ElementsToProto([]core.Element{{Boundary: core.BoundaryWrite, Subject: "/w", Strength: "super-enforced"}})
	if got := ElementsFromProto(els); got[0].Strength != core.Absent {
		t.Fatalf("a strength the host does not know was believed: %v", got[0].Strength)
	}
}
