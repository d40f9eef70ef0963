//go:build linux

package host

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins"
)

// withoutRunPlan makes h treat its none plugin as one of API 1.1, which
// does not plan inside Run: the host must fall back to Plan, then Run.
func withoutRunPlan(t *testing.T, h *Host) {
	t.Helper()
	if _, err := h.Open(context.Background(), "none"); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.plugins {
		p.hello.Features = slices.DeleteFunc(slices.Clone(p.hello.Features), func(f string) bool { return f == plugins.FeatureRunPlan })
	}
}

func TestRun_PluginWithoutRunPlanGetsPlanThenRun(t *testing.T) {
	h := newHost(t, Options{})
	withoutRunPlan(t, h)
	var out bytes.Buffer
	req := bestEffortReq(t, "/bin/sh", "-c", "echo old; exit 3")
	req.Stdout = &out
	res, err := h.Run(context.Background(), "none", req)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || out.String() != "old\n" || len(res.Report.Downgrades()) == 0 {
		t.Fatalf("exit %d, stdout %q, report %+v: want 3, \"old\" and the none backend's downgrades", res.ExitCode, out.String(), res.Report)
	}

	strict := bestEffortReq(t, "true")
	strict.Accept = core.Acceptance{}
	_, err = h.Run(context.Background(), "none", strict)
	var ne *core.NotEnforcedError
	if !errors.As(err, &ne) || len(ne.Elements) == 0 {
		t.Fatalf("strict run: err = %v, want *core.NotEnforcedError with elements", err)
	}
}
