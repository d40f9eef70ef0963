//go:build linux && !cgo

package linux

import (
	"context"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
)

func TestInfo_WithoutCgoSeccompIsUnavailableAndSaysHowToFix(t *testing.T) {
	f := Probe()
	if f.Seccomp || !strings.Contains(f.SeccompNote, "CGO_ENABLED=1") {
		t.Fatalf("seccomp %v: %q", f.Seccomp, f.SeccompNote)
	}
	if f.LandlockABI < 1 {
		t.Skip("Landlock unavailable: " + f.LandlockNote)
	}
	b, _ := New(NameLandlock, f)
	pl, err := b.Plan(context.Background(), core.DefaultPolicy(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	for _, el := range pl.Report.Elements {
		if el.Boundary == core.BoundaryNetwork && (el.Strength != core.Absent || !strings.Contains(el.Note, "CGO_ENABLED=1")) {
			t.Errorf("%s", el.Summary())
		}
	}
}
