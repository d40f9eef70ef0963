package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/plugins/conformance"
	"github.com/sbxdev/sbx/plugins/probe"
)

// A backend whose report claims everything is enforced but whose runs let
// every probe through fails the suite: exit 1, each failure explained.
func TestConformance_BackendThatLetsEverythingThroughFails(t *testing.T) {
	h := newHarness(t)
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) to stand in for the probe program")
	}
	h.vars["SBX_PROBE"] = truePath
	h.fake.run = probeRunner(probe.OutcomeAllowed)
	if code := h.run("conformance"); code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, h.stderr.String())
	}
	out := h.stdout.String()
	for _, want := range []string{"CASE", "default/write-outside", "FAIL", "got through although the report says write everything else is enforced", "fake:", "failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(h.stderr.String(), "backend fake failed") {
		t.Errorf("stderr: %s", h.stderr.String())
	}
	h.run("conformance", "--json")
	var results []conformance.CaseResult
	if err := json.Unmarshal(h.stdout.Bytes(), &results); err != nil || len(results) != len(conformance.Cases) {
		t.Fatalf("--json: %v, %d results for %d cases", err, len(results), len(conformance.Cases))
	}
}
