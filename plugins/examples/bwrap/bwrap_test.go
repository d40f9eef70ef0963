package bwrap

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
)

// fs is a fake file system for BuildPlan: path -> kind.
type fs map[string]Kind

func (f fs) kind(p string) Kind { return f[p] }

func element(t *testing.T, r core.Report, subject string) core.Element {
	t.Helper()
	for _, e := range r.Elements {
		if e.Subject == subject {
			return e
		}
	}
	t.Fatalf("no element %q in %+v", subject, r.Elements)
	return core.Element{}
}

// argsContain reports whether args has the flag followed by its operands.
func argsContain(args []string, seq ...string) bool {
	return strings.Contains("\x00"+strings.Join(args, "\x00")+"\x00", "\x00"+strings.Join(seq, "\x00")+"\x00")
}

func TestBuildPlan_ExistingProtectedNamesAreBoundReadOnlyMissingOnesReportedAbsent(t *testing.T) {
	p := core.DefaultPolicy("/ws")
	p.Protected = []string{".git", ".sbx.toml"}
	pl := BuildPlan(p, []string{"/tmp"}, fs{"/ws": Dir, "/tmp": Dir, "/ws/.git": Dir}.kind, false)
	if !argsContain(pl.Args, "--ro-bind", "/ws/.git", "/ws/.git") {
		t.Errorf("existing .git not bound read-only: %v", pl.Args)
	}
	if argsContain(pl.Args, "--ro-bind", "/ws/.sbx.toml", "/ws/.sbx.toml") {
		t.Errorf("a missing name was bound (bwrap would fail): %v", pl.Args)
	}
	if e := element(t, pl.Report, ".git"); e.Strength != core.Enforced {
		t.Errorf(".git: %+v", e)
	}
	if e := element(t, pl.Report, ".sbx.toml"); e.Strength != core.Absent || !strings.Contains(e.Note, "does not exist") {
		t.Errorf(".sbx.toml: %+v", e)
	}
	if err := pl.Report.Check(core.Acceptance{}); !errors.Is(err, core.ErrNotEnforced) {
		t.Errorf("a strict run is not refused: %v", err)
	}
}

func TestBuildPlan_SymlinkedProtectedNameIsAbsent(t *testing.T) {
	p := core.DefaultPolicy("/ws")
	p.Protected = []string{".sbx"}
	pl := BuildPlan(p, nil, fs{"/ws": Dir, "/ws/.sbx": Symlink}.kind, false)
	if e := element(t, pl.Report, ".sbx"); e.Strength != core.Absent || !strings.Contains(e.Note, "symbolic link") {
		t.Errorf(".sbx: %+v", e)
	}
}

func TestBuildPlan_WritableRootsBoundAfterTheReadOnlyRootParentsFirst(t *testing.T) {
	p := core.DefaultPolicy("/tmp/ws")
	p.Protected = nil
	pl := BuildPlan(p, []string{"/tmp"}, fs{"/tmp/ws": Dir, "/tmp": Dir}.kind, false)
	s := strings.Join(pl.Args, " ")
	root, tmp, ws := strings.Index(s, "--ro-bind / /"), strings.Index(s, "--bind /tmp /tmp"), strings.Index(s, "--bind /tmp/ws /tmp/ws")
	if root < 0 || tmp < root || ws < tmp {
		t.Errorf("binds out of order: %s", s)
	}
	if err := pl.Report.Check(core.Acceptance{}); err != nil {
		t.Errorf("default policy without protected names should be fully enforced: %v", err)
	}
}

func TestBuildPlan_NetworkDenialUnsharesTheNetwork(t *testing.T) {
	p := core.DefaultPolicy("/ws")
	deny := BuildPlan(p, nil, fs{"/ws": Dir}.kind, false)
	p.Network.Mode = core.NetworkAllow
	allow := BuildPlan(p, nil, fs{"/ws": Dir}.kind, false)
	if !argsContain(deny.Args, "--unshare-net") || argsContain(allow.Args, "--unshare-net") {
		t.Errorf("deny %v / allow %v", deny.Args, allow.Args)
	}
	if e := element(t, deny.Report, core.SubjectNetwork); e.Strength != core.Enforced {
		t.Errorf("network: %+v", e)
	}
}

func TestBuildPlan_AlwaysDropsCapabilitiesAndDiesWithParent(t *testing.T) {
	pl := BuildPlan(core.DefaultPolicy("/ws"), nil, fs{"/ws": Dir}.kind, false)
	for _, seq := range [][]string{{"--cap-drop", "ALL"}, {"--die-with-parent"}, {"--unshare-pid"}, {"--new-session"}, {"--proc", "/proc"}, {"--dev", "/dev"}} {
		if !argsContain(pl.Args, seq...) {
			t.Errorf("args lack %v: %v", seq, pl.Args)
		}
	}
	// With a terminal, no new session: it would take the terminal away.
	if tty := BuildPlan(core.DefaultPolicy("/ws"), nil, fs{"/ws": Dir}.kind, true); argsContain(tty.Args, "--new-session") {
		t.Errorf("--new-session with a TTY: %v", tty.Args)
	}
}

func TestBuildPlan_ReadsAndLimitsAreAbsentTimeoutEnforced(t *testing.T) {
	p := core.DefaultPolicy("/ws")
	p.Read.Mode = core.ReadRestricted
	p.Limits = core.Limits{Timeout: 5e9, MemoryBytes: 1 << 30}
	pl := BuildPlan(p, nil, fs{"/ws": Dir}.kind, false)
	for subject, want := range map[string]core.Strength{core.SubjectReads: core.Absent, core.SubjectMemory: core.Absent, core.SubjectTimeout: core.Enforced} {
		if e := element(t, pl.Report, subject); e.Strength != want {
			t.Errorf("%s: %s, want %s", subject, e.Strength, want)
		}
	}
}

func TestBuildPlan_ReportsEveryRequestedElementInOrder(t *testing.T) {
	p := core.DefaultPolicy("/ws")
	p.Limits.Pids = 10
	pl := BuildPlan(p, []string{"/tmp"}, fs{"/ws": Dir, "/tmp": Dir}.kind, false)
	want := core.Requested(p, []string{"/tmp"})
	if len(pl.Report.Elements) != len(want) {
		t.Fatalf("%d elements, want %d", len(pl.Report.Elements), len(want))
	}
	for i := range want {
		if got := pl.Report.Elements[i]; got.Subject != want[i].Subject || got.Strength == "" {
			t.Errorf("element %d: %+v, want subject %q with a strength", i, got, want[i].Subject)
		}
	}
}

func TestInfo_UnavailableWhenBwrapMissingOrFailing(t *testing.T) {
	missing := &Backend{lookPath: func(string) (string, error) { return "", exec.ErrNotFound }, try: tryBwrap}
	info, _ := missing.Info(context.Background())
	if info.Available || !strings.Contains(info.Unavailable, "bubblewrap") {
		t.Errorf("bwrap missing: %+v", info)
	}
	failing := &Backend{
		lookPath: func(string) (string, error) { return "/usr/bin/bwrap", nil },
		try: func(context.Context, string, []string) (bool, string) {
			return false, "bwrap: setting up uid map: Permission denied\n"
		},
	}
	info, _ = failing.Info(context.Background())
	if info.Available || !strings.Contains(info.Unavailable, "user namespaces") || !strings.Contains(info.Unavailable, "Permission denied") {
		t.Errorf("bwrap failing: %+v", info)
	}
	// Run refuses (after the strictness check) instead of starting bwrap.
	p := core.DefaultPolicy(t.TempDir())
	p.Protected = nil
	_, err := failing.Run(context.Background(), &core.RunRequest{Policy: p, Argv: []string{"true"}})
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Run on a host where bwrap fails: %v", err)
	}
}

func TestLookPath_NotFoundAndNotExecutable(t *testing.T) {
	dir := t.TempDir()
	if _, err := lookPath("no-such-command-sbx", []string{"PATH=" + dir}, dir); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("missing command: %v", err)
	}
	if _, err := lookPath("./", nil, dir); !errors.Is(err, core.ErrPermission) {
		t.Errorf("a directory: %v", err)
	}
	if p, err := lookPath("sh", []string{"PATH=/usr/bin:/bin"}, dir); err != nil || !strings.HasSuffix(p, "/sh") {
		t.Errorf("sh: %q %v", p, err)
	}
}
