package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
)

func TestBackends_TableAndJSON(t *testing.T) {
	h := newHarness(t)
	if code := h.run("backends"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	out := h.stdout.String()
	for _, want := range []string{"BACKEND", "fake (default)", "enforced", "broken", "plugin error: plugin speaks protocol 9", "facts: kind=fake"} {
		if !strings.Contains(out, want) {
			t.Errorf("backends output lacks %q:\n%s", want, out)
		}
	}
	if code := h.run("--backend=other", "backends", "--json"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var rows []backendJSON
	if err := json.Unmarshal(h.stdout.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[2].Name != "other" || !rows[2].Default || rows[0].Error == "" || rows[1].Info == nil {
		t.Errorf("rows = %+v", rows)
	}
}

func TestExplain_ShowsReportStepsAndVerdict(t *testing.T) {
	h := newHarness(t)
	h.fake.weak = map[core.Boundary]core.Strength{core.BoundaryNetwork: core.Absent}
	if code := h.run("explain", "--timeout=5s", "--", "ignored", "cmd"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	out := h.stdout.String()
	for _, want := range []string{"Backend fake, workspace " + h.cwd, "STRENGTH", "network", "absent", "timeout", "Steps:", "allow write", "sbx run would refuse"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	if code := h.run("explain", "--json", "--best-effort"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var plan core.Plan
	if err := json.Unmarshal(h.stdout.Bytes(), &plan); err != nil || plan.Backend != "fake" || len(plan.Report.Elements) == 0 {
		t.Errorf("explain --json: %v %+v", err, plan)
	}
}

func TestSetup_StatusSetupAndUndo(t *testing.T) {
	h := newHarness(t)
	sb := &setupBackend{fakeBackend: &fakeBackend{name: "elevated"}}
	h.set.backends["elevated"] = sb
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"setup", "--backend=elevated", "--status"}, "not done"},
		{[]string{"--backend=elevated", "setup"}, "creating the offline user\nsetup of backend elevated done"},
		{[]string{"setup", "--backend=elevated", "--status"}, "present  offline user"},
		{[]string{"setup", "--backend=elevated", "--uninstall"}, "removed"},
		{[]string{"setup", "--backend=fake"}, "backend fake needs no setup"},
	}
	for _, s := range steps {
		if code := h.run(s.args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", s.args, code, h.stderr.String())
		}
		if !strings.Contains(h.stdout.String(), s.want) {
			t.Errorf("%v: output lacks %q:\n%s", s.args, s.want, h.stdout.String())
		}
	}
	if len(sb.calls) != 2 || sb.calls[0].Undo || !sb.calls[1].Undo {
		t.Errorf("setup calls = %+v", sb.calls)
	}
	h.mustFail(exitSbxError, []string{"setup", "--status", "--undo"}, "cannot be used together")
}

func TestVersion_ShowsPluginVersions(t *testing.T) {
	h := newHarness(t)
	if code := h.run("version", "--json"); code != 0 {
		t.Fatal(code)
	}
	var v versionInfo
	if err := json.Unmarshal(h.stdout.Bytes(), &v); err != nil || v.PluginProtocol == "" || v.PluginAPI == "" || v.Go == "" {
		t.Errorf("version: %v %+v", err, v)
	}
	if code := h.run("version"); code != 0 || !strings.Contains(h.stdout.String(), "plugin protocol:") {
		t.Errorf("version: %d %s", code, h.stdout.String())
	}
}

func TestCompletion_Shells(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		h := newHarness(t)
		if code := h.run("completion", sh); code != 0 || h.stdout.Len() == 0 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, code, h.stdout.Len())
		}
	}
}

func TestConfig_HumanTable(t *testing.T) {
	h := newHarness(t)
	user := h.writeUser(`pids = 5`)
	if code := h.run("config"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	out := h.stdout.String()
	for _, want := range []string{"user file:    " + user + " (loaded)", "(not found)", "KEY", "pids", "user file " + user, "network", "deny", "default"} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
}
