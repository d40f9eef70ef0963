package core

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidate_ReportsEveryProblemAtOnce(t *testing.T) {
	p := DefaultPolicy("relative")
	p.WritableRoots = []string{"/ok", "also/relative", ""}
	p.Protected = []string{".git", "a/b", ".."}
	p.Network.Mode = "sometimes"
	p.Read.Mode = "some"
	p.Limits.Timeout = -time.Second
	p.Limits.MemoryBytes = 10
	p.Env.Set = map[string]string{"A=B": "x"}
	err := p.Validate(nil, nil)
	var pe *PolicyError
	if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidPolicy) {
		t.Fatalf("err = %v, want *PolicyError", err)
	}
	want := []string{"workspace", "writable_roots[1]", "writable_roots[2]", "protected[1]", "protected[2]",
		"network.mode", "read.mode", "limits.timeout", "limits.memory", "env.set"}
	got := map[string]bool{}
	for _, pr := range pe.Problems {
		got[pr.Field] = true
	}
	for _, f := range want {
		if !got[f] {
			t.Errorf("no problem reported for %s; got %v", f, pe.Problems)
		}
	}
	if got["writable_roots[0]"] {
		t.Errorf("a good root was reported: %v", pe.Problems)
	}
}

func TestValidate_WritableRootMustExistAndBeADirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	stat := func(p string) (bool, bool) {
		fi, err := os.Stat(p)
		if err != nil {
			return false, false
		}
		return true, fi.IsDir()
	}
	p := DefaultPolicy(dir)
	p.WritableRoots = []string{filepath.Join(dir, "missing"), file}
	err := p.Validate(nil, stat)
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "is not a directory") {
		t.Fatalf("err = %v", err)
	}
	if err := DefaultPolicy(dir).Validate(nil, stat); err != nil {
		t.Fatalf("default policy on an existing dir: %v", err)
	}
}

func TestValidate_HostAllowListIsRejectedUntilImplemented(t *testing.T) {
	p := DefaultPolicy("/w")
	p.Network.AllowHosts = []string{"example.com"}
	if err := p.Validate(nil, nil); err == nil || !strings.Contains(err.Error(), "allow_hosts") {
		t.Fatalf("err = %v", err)
	}
}

func TestReportCheck_StrictRefusesAnythingBelowEnforced(t *testing.T) {
	r := Report{Backend: "x", Elements: []Element{
		{Boundary: BoundaryWrite, Subject: "/w", Requested: ReqWritable, Strength: Enforced},
		{Boundary: BoundaryNetwork, Subject: SubjectNetwork, Requested: ReqNetworkDeny, Strength: Advisory},
		{Boundary: BoundaryLimits, Subject: SubjectMemory, Requested: "1GiB", Strength: Absent},
	}}
	tests := []struct {
		name   string
		accept Acceptance
		want   []string // subjects refused
	}{
		{"StrictRefusesAdvisoryAndAbsent", Acceptance{}, []string{SubjectNetwork, SubjectMemory}},
		{"AllowAdvisoryStillRefusesAbsent", Acceptance{AllowAdvisory: true}, []string{SubjectMemory}},
		{"BestEffortAcceptsAll", Acceptance{BestEffort: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Check(tt.accept)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var ne *NotEnforcedError
			if !errors.As(err, &ne) || !errors.Is(err, ErrNotEnforced) {
				t.Fatalf("err = %v", err)
			}
			var got []string
			for _, e := range ne.Elements {
				got = append(got, e.Subject)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("refused %v, want %v", got, tt.want)
			}
			if !strings.Contains(err.Error(), "--best-effort") {
				t.Fatalf("message does not say how to opt in: %v", err)
			}
		})
	}
	if r.Boundary(BoundaryNetwork) != Advisory || r.Boundary(BoundaryWrite) != Enforced || r.Boundary(BoundaryRead) != Enforced {
		t.Fatal("Boundary strengths wrong")
	}
}

func TestRequested_ListsEveryElementOfThePolicy(t *testing.T) {
	p := DefaultPolicy("/w")
	p.WritableRoots = []string{"/extra", "/w"}
	p.Limits = Limits{Timeout: time.Second, MemoryBytes: 1 << 30, Pids: 10, CPU: 1.5}
	els := Requested(p, []string{"/tmp"})
	var got []string
	for _, e := range els {
		got = append(got, string(e.Boundary)+" "+e.Subject+" "+e.Requested)
	}
	want := []string{
		"write /w writable", "write /extra writable", "write /tmp writable",
		"write .git read-only (protected)", "write .sbx.toml read-only (protected)", "write .sbx read-only (protected)",
		"write .codex read-only (protected)", "write .agents read-only (protected)",
		"write everything else read-only", "read reads everything readable", "network network deny",
		"limits timeout 1s", "limits memory 1GiB", "limits pids 10", "limits cpu 1.5 cores",
		"process process tree killed with the run",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ro := p
	ro.ReadOnly = true
	for _, e := range Requested(ro, nil) {
		if e.Requested == ReqProtected || e.Requested == ReqWritable {
			t.Fatalf("read-only policy still asks for %v", e)
		}
	}
}

func TestResolveProtected_GitFileProtectsItsGitdir(t *testing.T) {
	root := t.TempDir()
	gitdir := filepath.Join(t.TempDir(), "repo", ".git", "worktrees", "wt")
	if err := os.MkdirAll(gitdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(gitdir, "commondir"), []byte("../..\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".git"), []byte("gitdir: "+gitdir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := DefaultPolicy(root)
	p.Protected = []string{".git", ".sbx.toml"}
	got := map[string]ProtectedPath{}
	for _, pp := range ResolveProtected(p, nil, nil) {
		got[pp.Path] = pp
	}
	for _, want := range []string{filepath.Join(root, ".git"), filepath.Join(root, ".sbx.toml"), gitdir, filepath.Dir(filepath.Dir(gitdir))} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing %s in %v", want, got)
		}
	}
	if got[filepath.Join(root, ".sbx.toml")].Exists {
		t.Error("a missing protected name is reported as existing")
	}
	if got[gitdir].Via != filepath.Join(root, ".git") {
		t.Errorf("gitdir not attributed to the .git file: %+v", got[gitdir])
	}
}

func TestResolveProtected_MalformedGitFileProtectsOnlyItself(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, ".git"), []byte("not a gitdir line"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := DefaultPolicy(root)
	p.Protected = []string{".git"}
	got := ResolveProtected(p, nil, nil)
	if len(got) != 1 || got[0].Path != filepath.Join(root, ".git") || !got[0].Exists {
		t.Fatalf("got %+v", got)
	}
}

func TestBuildEnv_UnsetThenExtraThenSet(t *testing.T) {
	base := []string{"A=1", "B=2", "C=3", "junk"}
	e := EnvPolicy{Inherit: true, Unset: []string{"B"}, Set: map[string]string{"C": "policy"}}
	got := BuildEnv(base, e, map[string]string{"C": "extra", "D": "extra"})
	want := []string{"A=1", "C=policy", "D=extra"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := BuildEnv(base, EnvPolicy{Inherit: false}, nil); len(got) != 0 {
		t.Fatalf("clean env inherited %v", got)
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"1048576", 1 << 20, false}, {"512M", 512 << 20, false}, {"512MiB", 512 << 20, false},
		{"1g", 1 << 30, false}, {"2 GB", 2 << 30, false}, {"64k", 64 << 10, false},
		{"", 0, true}, {"-1M", 0, true}, {"1X", 0, true}, {"M", 0, true}, {"99999999999T", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseBytes(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v", tt.in, got, err)
		}
	}
	if FormatBytes(512<<20) != "512MiB" || FormatBytes(1000) != "1000B" {
		t.Error("FormatBytes")
	}
}

func TestClassify_FindsTheClassThroughWrapping(t *testing.T) {
	err := errors.Join(errors.New("x"), &ClassError{Class: ErrSetupRequired, Msg: "run setup"})
	if Classify(err) != ErrSetupRequired {
		t.Fatal(Classify(err))
	}
	if Classify(&PolicyError{}) != ErrInvalidPolicy || Classify(errors.New("plain")) != nil {
		t.Fatal("classify")
	}
}

func TestRunRequestWorkDir_IsDirElseWorkspace(t *testing.T) {
	r := &RunRequest{Policy: DefaultPolicy("/w")}
	if r.WorkDir() != "/w" {
		t.Fatalf("no Dir: %q, want the workspace", r.WorkDir())
	}
	r.Dir = "/w/sub"
	if r.WorkDir() != "/w/sub" {
		t.Fatalf("with Dir: %q", r.WorkDir())
	}
}

func TestUnixTmpDirs_TmpAndAnotherAbsoluteTMPDIR(t *testing.T) {
	for _, tc := range []struct {
		tmpdir string
		want   []string
	}{
		{"", []string{"/tmp"}},
		{"/tmp", []string{"/tmp"}},
		{"/tmp/", []string{"/tmp"}},
		{"relative/tmp", []string{"/tmp"}},
		{"/var/tmp/x/", []string{"/tmp", "/var/tmp/x"}},
	} {
		got := UnixTmpDirs(func(k string) string {
			if k == "TMPDIR" {
				return tc.tmpdir
			}
			return ""
		})
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("TMPDIR=%q: %v, want %v", tc.tmpdir, got, tc.want)
		}
	}
}
