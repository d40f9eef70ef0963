package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/probe"
)

// cell returns the verdict of probe name under backend in a comparison.
func (c *comparison) cellOf(backend, name string) probe.Verdict {
	for _, col := range c.Columns {
		if col.Backend != backend {
			continue
		}
		for _, cell := range col.Cells {
			if cell.Probe == name {
				return cell.Verdict
			}
		}
	}
	return ""
}

func TestCompare_ExplainPredictsFromEachPlanWithoutRunning(t *testing.T) {
	h := newHarness(t)
	h.set.backends["other"] = &fakeBackend{name: "other", weak: map[core.Boundary]core.Strength{core.BoundaryNetwork: core.Advisory}}
	if code := h.run("compare", "--explain", "--backends=fake,other,missing", "--json"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	var cmp comparison
	if err := json.Unmarshal(h.stdout.Bytes(), &cmp); err != nil {
		t.Fatal(err)
	}
	if !cmp.Explain || len(cmp.Columns) != 3 {
		t.Fatalf("comparison %+v", cmp)
	}
	for _, tt := range []struct {
		backend, probe string
		want           probe.Verdict
	}{
		{"fake", probe.TCP4Loopback, probe.WouldBlock},
		{"fake", probe.WriteWorkspace, probe.Allowed},
		{"other", probe.TCP4Loopback, probe.WouldLeak},
		{"other", probe.HTTPProxyEnv, probe.WouldBlockAdvisory},
		{"other", probe.WriteOutside, probe.WouldBlock},
	} {
		if got := cmp.cellOf(tt.backend, tt.probe); got != tt.want {
			t.Errorf("%s %s = %q, want %q", tt.backend, tt.probe, got, tt.want)
		}
	}
	if u := cmp.Columns[2].Unavailable; !strings.Contains(u, "unknown backend") {
		t.Errorf("missing backend column: %q, want why", u)
	}
	if r := h.fake.request(); r != nil {
		t.Errorf("--explain ran something: %+v", r)
	}
}

func TestCompare_TextAndMarkdownTables(t *testing.T) {
	h := newHarness(t)
	h.set.backends["other"] = &fakeBackend{name: "other", weak: map[core.Boundary]core.Strength{core.BoundaryNetwork: core.Advisory}}
	if code := h.run("compare", "--explain", "--backends=fake,other"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	out := h.stdout.String()
	for _, want := range []string{"PROBE", "fake", "other", "write-outside", "would block", "would leak", "other: tcp-127.0.0.1, tcp-::1, udp-127.0.0.1, udp-::1, http-ignoring-proxy, dns-udp-query, af-netlink, raw-socket would leak [network is advisory (fake): the fake cannot]"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if code := h.run("compare", "--explain", "--backends=fake,other", "--markdown"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	out = h.stdout.String()
	for _, want := range []string{"| probe | fake | other |", "|---|---|---|", "| `tcp-127.0.0.1` | would block | **would leak** |"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown output lacks %q:\n%s", want, out)
		}
	}
	if code := h.run("compare", "--explain", "--json", "--markdown"); code != 125 {
		t.Errorf("--json --markdown: exit %d, want 125 (usage error)", code)
	}
}

// probeRunner makes a fake backend answer the probe program's runs with
// the given outcome for every probe, as if the probes ran.
func probeRunner(outcome probe.Outcome) func(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
	return func(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
		if len(req.Argv) == 2 && strings.HasPrefix(req.Argv[1], "{") && req.Stdout != nil {
			for _, pr := range probe.ForOS("") {
				fmt.Fprintf(req.Stdout, `{"probe":%q,"outcome":%q,"detail":"fake"}`+"\n", pr.Name, outcome)
			}
		}
		return &core.RunResult{}, nil
	}
}

func TestCompare_RunJudgesResultsAndFailedCellsExit1(t *testing.T) {
	h := newHarness(t)
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) to stand in for the probe program")
	}
	h.vars["SBX_PROBE"] = truePath
	h.fake.run = probeRunner(probe.OutcomeBlocked)
	// "other" claims to enforce everything but lets everything through.
	h.set.backends["other"] = &fakeBackend{name: "other", run: probeRunner(probe.OutcomeAllowed)}
	code := h.run("compare", "--backends=fake,other", "--json", "--", "make", "test")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (FAILED cells); stderr: %s", code, h.stderr.String())
	}
	if !strings.Contains(h.stderr.String(), "FAILED") {
		t.Errorf("stderr does not say why: %s", h.stderr.String())
	}
	var cmp comparison
	if err := json.Unmarshal(h.stdout.Bytes(), &cmp); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		backend, probe string
		want           probe.Verdict
	}{
		{"fake", probe.WriteOutside, probe.Blocked},
		{"fake", probe.WriteWorkspace, probe.Overblocked},
		{"other", probe.WriteOutside, probe.Failed},
		{"other", probe.WriteWorkspace, probe.Allowed},
	} {
		if got := cmp.cellOf(tt.backend, tt.probe); got != tt.want {
			t.Errorf("%s %s = %q, want %q", tt.backend, tt.probe, got, tt.want)
		}
	}
	if c := cmp.Columns[0].Command; c == nil || c.ExitCode != 0 {
		t.Errorf("the user's command was not run and timed: %+v", c)
	}
	if r := h.fake.request(); r == nil || strings.Join(r.Argv, " ") != "make test" || r.Policy.Workspace != h.cwd || !r.Accept.BestEffort {
		t.Errorf("the user's command ran as %+v, want make test in the real workspace, best-effort", r)
	}
}

func TestRunTimed_CommandErrorsExitAsSbxRunWould(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"not found", &core.ClassError{Class: core.ErrNotFound, Msg: `not found: command "nope" not found in PATH`}, exitNotFound},
		{"not executable", &core.ClassError{Class: core.ErrPermission, Msg: "permission denied: cannot run /etc/passwd"}, exitCannotExecute},
		{"plugin died", &core.ClassError{Class: core.ErrBackendExited, Msg: "plugin exited"}, exitSbxError},
	} {
		b := &fakeBackend{name: "fake", run: func(context.Context, *core.RunRequest) (*core.RunResult, error) { return nil, tt.err }}
		got := runTimed(context.Background(), "fake", b, core.DefaultPolicy(t.TempDir()), []string{"nope"}, nil)
		if got.ExitCode != tt.want || got.Error != tt.err.Error() {
			t.Errorf("%s: %+v, want exit %d and the backend's message", tt.name, got, tt.want)
		}
	}
}

func TestPolicyForOS_RewritesPathsForAnotherOS(t *testing.T) {
	p := core.DefaultPolicy("/home/me/ws")
	p.WritableRoots = []string{"/var/cache"}
	same, note := policyForOS(p, runtimeGOOS(), false)
	if note != "" || same.Workspace != p.Workspace {
		t.Fatalf("same OS: %q %q", same.Workspace, note)
	}
	if runtimeGOOS() == "windows" {
		t.Skip("the rest rewrites unix paths for Windows")
	}
	win, note := policyForOS(p, "windows", false)
	if win.Workspace != `C:\home\me\ws` || win.WritableRoots[0] != `C:\var\cache` || !strings.Contains(note, `C:\home\me\ws`) {
		t.Errorf("windows: %q %v %q", win.Workspace, win.WritableRoots, note)
	}
	if p.WritableRoots[0] != "/var/cache" {
		t.Error("the caller's policy was changed")
	}
	unc, _ := policyForOS(p, "windows", true)
	if unc.Workspace != "//sbx/home/me/ws" {
		t.Errorf("unc: %q", unc.Workspace)
	}
}

func runtimeGOOS() string { return runtime.GOOS }
