package linux

import (
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

// fakeFacts is a host like the CI machine: Landlock ABI 7, seccomp, user
// namespaces, hybrid cgroups as root.
func fakeFacts() Facts {
	return Facts{
		Kernel: "6.18", LandlockABI: 7, Seccomp: true, UserNS: true, UID: 1000, GID: 1000,
		Cgroup: CgroupFacts{Mode: "v2", Version: 2, Parents: map[string]string{"unified": "/sys/fs/cgroup/user/sbx"},
			Controllers: []string{"memory", "pids", "cpu"}, Swap: true},
		TmpDirs: []string{"/tmp"},
	}
}

// fakeLayout is /w with .git (dir), src (dir), README (file), link
// (symlink), and the usual system paths.
func fakeLayout() Layout {
	return Layout{
		Protected: []core.ProtectedPath{
			{Path: "/w/.agents", Root: "/w", Name: ".agents"},
			{Path: "/w/.codex", Root: "/w", Name: ".codex"},
			{Path: "/w/.git", Root: "/w", Name: ".git", Exists: true, IsDir: true},
			{Path: "/w/.sbx", Root: "/w", Name: ".sbx"},
			{Path: "/w/.sbx.toml", Root: "/w", Name: ".sbx.toml"},
		},
		Dirs: map[string][]Entry{
			"/w": {
				{Name: ".git", Kind: KindDir}, {Name: "src", Kind: KindDir},
				{Name: "README", Kind: KindFile}, {Name: "link", Kind: KindSymlink},
			},
			"/": {
				{Name: "bin", Kind: KindSymlink}, {Name: "data", Kind: KindDir}, {Name: "dev", Kind: KindDir},
				{Name: "etc", Kind: KindDir}, {Name: "proc", Kind: KindDir}, {Name: "swapfile", Kind: KindFile},
				{Name: "tmp", Kind: KindDir}, {Name: "usr", Kind: KindDir}, {Name: "w", Kind: KindDir},
			},
		},
		Kinds: map[string]Kind{
			"/w": KindDir, "/w/.git": KindDir, "/tmp": KindDir, "/dev/null": KindOther, "/dev/tty": KindOther,
			"/dev": KindDir, "/dev/pts": KindDir, "/dev/ptmx": KindOther, "/dev/shm": KindDir, "/usr": KindDir, "/etc": KindDir, "/data": KindDir,
		},
	}
}

func fakeInput(mode Mode) Input {
	p := core.DefaultPolicy("/w")
	return Input{Backend: "linux-" + string(mode), Mode: mode, Policy: p, Facts: fakeFacts(), Layout: fakeLayout()}
}

func mustPlan(t *testing.T, in Input) (*Plan, core.Report) {
	t.Helper()
	pl, rep, err := BuildPlan(in)
	if err != nil {
		t.Fatalf("BuildPlan: %v", err)
	}
	return pl, rep
}

// rule returns the rule granting path more than reading (the read rules
// of unrestricted reads are on every entry of /: see readRule).
func rule(pl *Plan, path string) *LandlockRule {
	for i, r := range pl.Landlock.Rules {
		if r.Path == path && r.Access&^FSReadFile != 0 {
			return &pl.Landlock.Rules[i]
		}
	}
	return nil
}

// readRule returns the rule granting path read_file only, if any.
func readRule(pl *Plan, path string) *LandlockRule {
	for i, r := range pl.Landlock.Rules {
		if r.Path == path && r.Access == FSReadFile {
			return &pl.Landlock.Rules[i]
		}
	}
	return nil
}

func element(rep core.Report, b core.Boundary, subject string) core.Element {
	for _, e := range rep.Elements {
		if e.Boundary == b && e.Subject == subject {
			return e
		}
	}
	return core.Element{}
}

func TestPlan_LandlockProtectedGitIsReadOnly(t *testing.T) {
	pl, rep := mustPlan(t, fakeInput(ModeLandlock))
	if r := rule(pl, "/w"); r != nil {
		t.Errorf("the writable root itself got %v; it must stay read-only so .git cannot be replaced", r.Access)
	}
	if r := rule(pl, "/w/.git"); r != nil {
		t.Errorf(".git got a rule: %v", r.Access)
	}
	if r := rule(pl, "/w/link"); r != nil {
		t.Errorf("a symlink got a rule (it would apply to its target): %v", r.Access)
	}
	src := rule(pl, "/w/src")
	if src == nil || src.Access&(FSWriteFile|FSMakeReg|FSRemoveFile|FSRefer) != FSWriteFile|FSMakeReg|FSRemoveFile|FSRefer {
		t.Fatalf("src must be fully writable, got %+v", src)
	}
	readme := rule(pl, "/w/README")
	if readme == nil || readme.Kind != KindFile || readme.Access&^fsFileOnly != 0 || readme.Access&FSWriteFile == 0 {
		t.Fatalf("README must get file-only write rights, got %+v", readme)
	}
	if e := element(rep, core.BoundaryWrite, ".git"); e.Strength != core.Enforced {
		t.Errorf(".git: %s", e.Summary())
	}
	if e := element(rep, core.BoundaryWrite, "/w"); !strings.Contains(e.Note, "cannot be created, removed or renamed") {
		t.Errorf("the report must say the root's own entries are fixed: %s", e.Summary())
	}
}

func TestPlan_NoProtectedNamesGrantsTheWholeRoot(t *testing.T) {
	in := fakeInput(ModeLandlock)
	in.Policy.Protected = nil
	in.Layout.Protected = nil
	pl, rep := mustPlan(t, in)
	if r := rule(pl, "/w"); r == nil || r.Access&FSMakeReg == 0 {
		t.Fatalf("root rule: %+v", r)
	}
	if e := element(rep, core.BoundaryWrite, "/w"); e.Note != "" {
		t.Errorf("no note expected: %s", e.Summary())
	}
}

func TestPlan_WorktreeGitdirInsideARootIsCarved(t *testing.T) {
	in := fakeInput(ModeLandlock)
	in.Layout.Protected = append(in.Layout.Protected, core.ProtectedPath{Path: "/w/src/repo/wt", Root: "/w", Name: ".git", Exists: true, IsDir: true, Via: "/w/.git"})
	in.Layout.Dirs["/w/src"] = []Entry{{Name: "repo", Kind: KindDir}, {Name: "main.go", Kind: KindFile}}
	in.Layout.Dirs["/w/src/repo"] = []Entry{{Name: "wt", Kind: KindDir}, {Name: "objects", Kind: KindDir}}
	pl, _ := mustPlan(t, in)
	for _, p := range []string{"/w/src", "/w/src/repo", "/w/src/repo/wt"} {
		if r := rule(pl, p); r != nil {
			t.Errorf("%s is on the way to a protected gitdir and must get no rule, got %v", p, r.Access)
		}
	}
	for _, p := range []string{"/w/src/main.go", "/w/src/repo/objects", "/w/README"} {
		if rule(pl, p) == nil {
			t.Errorf("%s must stay writable", p)
		}
	}
}

func TestPlan_MissingListingFailsClosed(t *testing.T) {
	in := fakeInput(ModeLandlock)
	delete(in.Layout.Dirs, "/w")
	if _, _, err := BuildPlan(in); !errors.Is(err, ErrPlan) {
		t.Fatalf("want ErrPlan, got %v", err)
	}
}

func TestPlan_LandlockABIDecidesLayersAndStrengths(t *testing.T) {
	cases := []struct {
		abi                   int
		wantNet               AccessNet
		wantScope             Scope
		write, process, netw  core.Strength
		wantTruncateInHandled bool
	}{
		{abi: 2, write: core.Absent, process: core.Absent, netw: core.Enforced},
		{abi: 3, write: core.Enforced, process: core.Absent, netw: core.Enforced, wantTruncateInHandled: true},
		{abi: 4, wantNet: NetBindTCP | NetConnectTCP, write: core.Enforced, process: core.Absent, netw: core.Enforced, wantTruncateInHandled: true},
		{abi: 7, wantNet: NetBindTCP | NetConnectTCP, wantScope: ScopeAbstractUnix | ScopeSignal, write: core.Enforced, process: core.Enforced, netw: core.Enforced, wantTruncateInHandled: true},
		{abi: 10, wantNet: NetBindTCP | NetConnectTCP | NetBindUDP | NetConnectSendUDP, wantScope: ScopeAbstractUnix | ScopeSignal, write: core.Enforced, process: core.Enforced, netw: core.Enforced, wantTruncateInHandled: true},
	}
	for _, c := range cases {
		in := fakeInput(ModeLandlock)
		in.Facts.LandlockABI = c.abi
		pl, rep := mustPlan(t, in)
		ll := pl.Landlock
		if ll.HandledNet != c.wantNet || ll.Scoped != c.wantScope {
			t.Errorf("ABI %d: net %s scope %s", c.abi, ll.HandledNet, ll.Scoped)
		}
		if ll.HandledFS&^SupportedFS(c.abi) != 0 {
			t.Errorf("ABI %d: handles rights the ABI does not know: %s", c.abi, ll.HandledFS)
		}
		if (ll.HandledFS&FSTruncate != 0) != c.wantTruncateInHandled {
			t.Errorf("ABI %d: truncate handled = %v", c.abi, ll.HandledFS&FSTruncate != 0)
		}
		if ll.HandledFS&FSResolveUnix != 0 {
			t.Errorf("ABI %d: unix socket connects are local IPC and must not be handled", c.abi)
		}
		if ll.HandledFS&fsRead != FSReadFile {
			t.Errorf("ABI %d: reads are not restricted by the policy: only read_file (for /dev) must be handled, got %s", c.abi, ll.HandledFS)
		}
		if e := element(rep, core.BoundaryWrite, core.SubjectElsewhere); e.Strength != c.write {
			t.Errorf("ABI %d: %s", c.abi, e.Summary())
		}
		if e := element(rep, core.BoundaryProcess, core.SubjectProcessTree); e.Strength != c.process {
			t.Errorf("ABI %d: %s", c.abi, e.Summary())
		}
		if e := element(rep, core.BoundaryNetwork, core.SubjectNetwork); e.Strength != c.netw {
			t.Errorf("ABI %d: %s", c.abi, e.Summary())
		}
	}
}

func TestPlan_NoLandlockMakesLandlockModeUnavailable(t *testing.T) {
	in := fakeInput(ModeLandlock)
	in.Facts.LandlockABI, in.Facts.LandlockNote = 0, "not enabled"
	if _, _, err := BuildPlan(in); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
}

func TestPlan_WithoutSeccompLandlockNetworkIsAbsentNamespacesIsNot(t *testing.T) {
	for _, mode := range []Mode{ModeLandlock, ModeNamespaces} {
		in := fakeInput(mode)
		in.Facts.Seccomp, in.Facts.SeccompNote = false, "built without cgo: seccomp unavailable; rebuild with CGO_ENABLED=1"
		pl, rep := mustPlan(t, in)
		if pl.Seccomp != nil {
			t.Errorf("%s: seccomp planned without seccomp", mode)
		}
		e := element(rep, core.BoundaryNetwork, core.SubjectNetwork)
		want := core.Absent
		if mode == ModeNamespaces {
			want = core.Enforced
		}
		if e.Strength != want {
			t.Errorf("%s: %s", mode, e.Summary())
		}
		if mode == ModeLandlock && !strings.Contains(e.Note, "CGO_ENABLED=1") {
			t.Errorf("the note must say how to fix it: %s", e.Summary())
		}
		if err := rep.Check(core.Acceptance{}); mode == ModeLandlock && !errors.Is(err, core.ErrNotEnforced) {
			t.Errorf("a strict run must refuse: %v", err)
		}
	}
}

func TestPlan_NoUserNamespacesMakesNamespacesUnavailableAndAutoPicksLandlock(t *testing.T) {
	in := fakeInput(ModeNamespaces)
	in.Facts.UserNS, in.Facts.UserNSNote = false, "user namespaces are blocked by AppArmor: use --backend=linux-landlock"
	_, _, err := BuildPlan(in)
	if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "AppArmor") {
		t.Fatalf("want ErrUnavailable naming the cause, got %v", err)
	}
	if m, why := SelectMode(in.Facts); m != ModeLandlock || !strings.Contains(why, "AppArmor") {
		t.Fatalf("SelectMode = %q (%s)", m, why)
	}
	if m, _ := SelectMode(fakeFacts()); m != ModeNamespaces {
		t.Fatalf("with user namespaces SelectMode = %q", m)
	}
}

func TestPlan_NamespacesBindsRootAndProtectsExistingNames(t *testing.T) {
	in := fakeInput(ModeNamespaces)
	in.Policy.Protected = []string{".git"}
	in.Layout.Protected = in.Layout.Protected[2:3]
	pl, rep := mustPlan(t, in)
	var got []string
	for _, m := range pl.Mounts {
		if strings.HasPrefix(m.Target, "/w") {
			got = append(got, m.Op+" "+m.Target)
		}
	}
	want := []string{"bind-read-write /w", "bind-read-only /w/.git"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mounts %q, want %q", got, want)
	}
	if e := element(rep, core.BoundaryWrite, "/w"); e.Note != "" {
		t.Errorf("the root is fully writable: %s", e.Summary())
	}
	if last := pl.Mounts[len(pl.Mounts)-1]; last.Op != MountPivotRoot {
		t.Errorf("last mount step %s", last.Op)
	}
	if !containsStr(pl.Namespaces, "net") || !pl.Loopback {
		t.Errorf("network denied: want a net namespace with loopback, got %v", pl.Namespaces)
	}
}

func TestPlan_NamespacesMissingProtectedNameKeepsRootReadOnly(t *testing.T) {
	pl, rep := mustPlan(t, fakeInput(ModeNamespaces))
	var got []string
	for _, m := range pl.Mounts {
		if strings.HasPrefix(m.Target, "/w") {
			got = append(got, m.Op+" "+m.Target)
		}
	}
	want := []string{"bind-read-only /w", "bind-read-write /w/src", "bind-read-write /w/README", "bind-read-only /w/.git"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mounts %q, want %q", got, want)
	}
	if e := element(rep, core.BoundaryWrite, ".sbx.toml"); e.Strength != core.Enforced || !strings.Contains(e.Mechanism, "cannot be created") {
		t.Errorf("%s", e.Summary())
	}
}

func TestPlan_NetworkAllowedHasNoSocketRuleAndNoNetNamespace(t *testing.T) {
	for _, mode := range []Mode{ModeLandlock, ModeNamespaces} {
		in := fakeInput(mode)
		in.Policy.Network.Mode = core.NetworkAllow
		pl, _ := mustPlan(t, in)
		for _, r := range pl.Seccomp.Rules {
			if r.Syscall == "socket" {
				t.Errorf("%s: socket rule with network allowed", mode)
			}
		}
		if containsStr(pl.Namespaces, "net") {
			t.Errorf("%s: net namespace with network allowed", mode)
		}
		if pl.Landlock != nil && pl.Landlock.HandledNet != 0 {
			t.Errorf("%s: landlock handles %s with network allowed", mode, pl.Landlock.HandledNet)
		}
	}
}

func TestPlan_SeccompDeniesNonUnixSocketsAndTerminalInjection(t *testing.T) {
	pl, _ := mustPlan(t, fakeInput(ModeLandlock))
	var socket, tiocsti, ptrace, clone3 bool
	for _, r := range pl.Seccomp.Rules {
		switch {
		case r.Syscall == "socket" && r.Arg != nil && r.Arg.Op == "ne" && r.Arg.Value == afUnix:
			socket = true
		case r.Syscall == "ioctl" && r.Arg != nil && r.Arg.Mask == 0xffffffff && r.Arg.Value == ioctlTIOCSTI:
			tiocsti = true
		case r.Syscall == "ptrace":
			ptrace = true
		case r.Syscall == "clone3" && r.Errno == "ENOSYS":
			clone3 = true
		}
	}
	if !socket || !tiocsti || !ptrace || !clone3 {
		t.Fatalf("socket=%v tiocsti=%v ptrace=%v clone3=%v", socket, tiocsti, ptrace, clone3)
	}
}

func TestPlan_LimitsWithoutCgroupAreAbsent(t *testing.T) {
	in := fakeInput(ModeLandlock)
	in.Policy.Limits = core.Limits{MemoryBytes: 64 << 20, Pids: 32, CPU: 0.5, Timeout: time.Minute}
	in.Facts.Cgroup = CgroupFacts{Mode: "hybrid", Note: "hybrid host: the v1 controllers need root"}
	pl, rep := mustPlan(t, in)
	if pl.Cgroup != nil {
		t.Fatalf("cgroup planned without a usable cgroup")
	}
	for _, s := range []string{core.SubjectMemory, core.SubjectPids, core.SubjectCPU} {
		if e := element(rep, core.BoundaryLimits, s); e.Strength != core.Absent || !strings.Contains(e.Note, "need root") {
			t.Errorf("%s", e.Summary())
		}
	}
	if e := element(rep, core.BoundaryLimits, core.SubjectTimeout); e.Strength != core.Enforced {
		t.Errorf("%s", e.Summary())
	}
}

func TestPlan_CgroupValuesPerVersion(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cgroup values come from containerd/cgroups, Linux only")
	}
	limits := core.Limits{MemoryBytes: 64 << 20, Pids: 32, CPU: 0.5}
	v2 := fakeInput(ModeNamespaces)
	v2.Policy.Limits = limits
	pl, rep := mustPlan(t, v2)
	var files []string
	for _, w := range pl.Cgroup.Writes {
		files = append(files, w.File+"="+w.Value)
	}
	// The order of cgroup2.Resources.Values(): cpu, memory, pids.
	want := []string{"cpu.max=50000 100000", "memory.swap.max=0", "memory.max=67108864", "memory.oom.group=1", "pids.max=32"}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("v2 writes %q, want %q", files, want)
	}
	if e := element(rep, core.BoundaryLimits, core.SubjectMemory); e.Strength != core.Enforced {
		t.Errorf("%s", e.Summary())
	}
	v1 := fakeInput(ModeLandlock)
	v1.Policy.Limits = limits
	v1.Facts.UID = 0
	v1.Facts.Cgroup = CgroupFacts{Mode: "hybrid", Version: 1, Controllers: []string{"memory", "pids"}, Swap: true,
		Parents: map[string]string{"memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"}}
	pl, rep = mustPlan(t, v1)
	files = nil
	for _, w := range pl.Cgroup.Writes {
		files = append(files, w.Controller+":"+w.File+"="+w.Value)
	}
	want = []string{"memory:memory.limit_in_bytes=67108864", "memory:memory.memsw.limit_in_bytes=67108864", "pids:pids.max=32"}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("v1 writes %q, want %q", files, want)
	}
	if e := element(rep, core.BoundaryLimits, core.SubjectCPU); e.Strength != core.Absent {
		t.Errorf("cpu without a cpu hierarchy: %s", e.Summary())
	}
}

func TestPlan_RestrictedReadsUseLandlockInBothModes(t *testing.T) {
	for _, mode := range []Mode{ModeLandlock, ModeNamespaces} {
		in := fakeInput(mode)
		in.Policy.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{"/data"}}
		pl, rep := mustPlan(t, in)
		if pl.Landlock == nil || pl.Landlock.HandledFS&FSReadFile == 0 || rule(pl, "/data") == nil || rule(pl, "/usr") == nil {
			t.Fatalf("%s: %+v", mode, pl.Landlock)
		}
		if e := element(rep, core.BoundaryRead, core.SubjectReads); e.Strength != core.Enforced {
			t.Errorf("%s: %s", mode, e.Summary())
		}
		in.Facts.LandlockABI = 0
		if mode == ModeNamespaces {
			_, rep = mustPlan(t, in)
			if e := element(rep, core.BoundaryRead, core.SubjectReads); e.Strength != core.Absent {
				t.Errorf("namespaces without Landlock: %s", e.Summary())
			}
		}
	}
}

func TestPlan_ReportFollowsRequestedOrder(t *testing.T) {
	for _, mode := range []Mode{ModeLandlock, ModeNamespaces} {
		in := fakeInput(mode)
		in.Policy.Limits = core.Limits{MemoryBytes: 64 << 20, Timeout: time.Second}
		_, rep := mustPlan(t, in)
		req := core.Requested(in.Policy, in.Facts.TmpDirs)
		if len(req) != len(rep.Elements) {
			t.Fatalf("%s: %d elements, want %d", mode, len(rep.Elements), len(req))
		}
		for i := range req {
			if req[i].Subject != rep.Elements[i].Subject || req[i].Boundary != rep.Elements[i].Boundary || rep.Elements[i].Strength == "" {
				t.Errorf("%s: element %d = %s, want %s", mode, i, rep.Elements[i].Summary(), req[i].Subject)
			}
		}
	}
}

func TestPlan_DetailRoundTripsAndStepsAreComplete(t *testing.T) {
	for _, mode := range []Mode{ModeLandlock, ModeNamespaces} {
		in := fakeInput(mode)
		in.Policy.Limits = core.Limits{Pids: 10}
		pl, rep := mustPlan(t, in)
		cp, err := pl.CorePlan(rep)
		if err != nil {
			t.Fatal(err)
		}
		var back Plan
		if err := json.Unmarshal(cp.Detail, &back); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if !reflect.DeepEqual(&back, pl) {
			t.Errorf("%s: detail does not round-trip", mode)
		}
		layers := map[string]int{}
		for _, s := range cp.Steps {
			layers[s.Layer]++
		}
		n := len(pl.Seccomp.Rules)
		if layers["seccomp"] != n+1 || layers["cgroup"] == 0 {
			t.Errorf("%s: steps per layer %v (seccomp rules %d)", mode, layers, n)
		}
		if mode == ModeNamespaces && layers["mount"] != len(pl.Mounts) {
			t.Errorf("mount steps %d, mounts %d", layers["mount"], len(pl.Mounts))
		}
		if mode == ModeLandlock && layers["landlock"] < len(pl.Landlock.Rules) {
			t.Errorf("landlock steps %d, rules %d", layers["landlock"], len(pl.Landlock.Rules))
		}
	}
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestPlan_WorkspaceInsideWritableTmp(t *testing.T) {
	// /tmp/w is the workspace and /tmp is writable by policy.
	in := fakeInput(ModeLandlock)
	in.Policy = core.DefaultPolicy("/tmp/w")
	in.Layout.Protected = []core.ProtectedPath{{Path: "/tmp/w/.git", Root: "/tmp/w", Name: ".git", Exists: true, IsDir: true}}
	in.Policy.Protected = []string{".git"}
	in.Layout.Dirs = map[string][]Entry{"/tmp/w": {{Name: ".git", Kind: KindDir}, {Name: "src", Kind: KindDir}}, "/": fakeLayout().Dirs["/"]}
	in.Layout.Kinds["/tmp/w"] = KindDir
	in.Layout.Kinds["/tmp/w/.git"] = KindDir
	_, rep := mustPlan(t, in)
	e := element(rep, core.BoundaryWrite, ".git")
	if e.Strength != core.Absent || !strings.Contains(e.Note, "writable_tmp") {
		t.Fatalf("landlock: a protected path under a writable /tmp cannot be held: %s", e.Summary())
	}
	if err := rep.Check(core.Acceptance{}); !errors.Is(err, core.ErrNotEnforced) {
		t.Fatalf("a strict run must refuse: %v", err)
	}
	in.Mode = ModeNamespaces
	pl, rep := mustPlan(t, in)
	if e := element(rep, core.BoundaryWrite, ".git"); e.Strength != core.Enforced {
		t.Errorf("namespaces: %s", e.Summary())
	}
	var tmpAt, gitAt = -1, -1
	for i, m := range pl.Mounts {
		switch {
		case m.Target == "/tmp" && m.Op == MountBindRW:
			tmpAt = i
		case m.Target == "/tmp/w/.git" && m.Op == MountBindRO:
			gitAt = i
		}
	}
	if tmpAt < 0 || gitAt < tmpAt {
		t.Errorf("namespaces: /tmp bound at %d, .git read-only at %d: .git must come after", tmpAt, gitAt)
	}
}

func TestPlan_LandlockGrantsOnlyTheRunsOwnTerminal(t *testing.T) {
	pl, _ := mustPlan(t, fakeInput(ModeLandlock))
	for _, r := range pl.Landlock.Rules {
		if r.Path == "/dev/pts" && r.Access&(FSWriteFile|FSReadFile|FSIoctlDev) != 0 {
			t.Errorf("/dev/pts opens other terminals: %s", r.Access)
		}
	}
	readable := pl.Landlock.Terminal&FSReadFile != 0 || pl.Landlock.HandledFS&FSReadFile == 0
	if pl.Landlock.Terminal&FSWriteFile == 0 || !readable {
		t.Errorf("the run's own terminal is not read-write: %s", pl.Landlock.Terminal)
	}
	ns, _ := mustPlan(t, fakeInput(ModeNamespaces))
	found := false
	for _, m := range ns.Mounts {
		found = found || (m.Op == MountConsole && m.Target == "/dev/console")
	}
	if !found {
		t.Errorf("namespaces mode does not name the run's terminal: %+v", ns.Mounts)
	}
}

func TestPlan_LandlockReadsEverythingButTheOtherTerminals(t *testing.T) {
	pl, rep := mustPlan(t, fakeInput(ModeLandlock))
	if pl.Landlock.HandledFS&FSReadFile == 0 {
		t.Fatal("read_file is not handled: every terminal of the user could be read")
	}
	for _, path := range []string{"/usr", "/etc", "/proc", "/data", "/w", "/tmp", "/swapfile", "/dev/shm"} {
		if readRule(pl, path) == nil {
			t.Errorf("%s: no read rule", path)
		}
	}
	for _, path := range []string{"/dev", "/dev/pts", "/bin"} { // /bin is a symlink: its target is under /usr
		for _, r := range pl.Landlock.Rules {
			if r.Path == path && r.Access&FSReadFile != 0 {
				t.Errorf("%s can be read: %+v", path, r)
			}
		}
	}
	for _, dev := range []string{"/dev/null", "/dev/tty", "/dev/ptmx"} {
		if r := rule(pl, dev); r == nil || r.Access&FSReadFile == 0 {
			t.Errorf("%s must stay readable: %+v", dev, r)
		}
	}
	if pl.Landlock.Terminal&FSReadFile == 0 {
		t.Error("the run's own terminal must stay readable by name")
	}
	if e := element(rep, core.BoundaryRead, core.SubjectReads); !strings.Contains(e.Note, "other terminals") {
		t.Errorf("the report must say what of /dev cannot be read: %s", e.Summary())
	}
	in := fakeInput(ModeLandlock)
	delete(in.Layout.Dirs, "/")
	if _, _, err := BuildPlan(in); !errors.Is(err, ErrPlan) {
		t.Errorf("without the listing of /, BuildPlan = %v; want ErrPlan (fail closed)", err)
	}
}

func TestPlan_RestrictedReadsInLandlockModeKeepTheOtherTerminalsOut(t *testing.T) {
	in := fakeInput(ModeLandlock)
	in.Policy.Read.Mode = core.ReadRestricted
	pl, _ := mustPlan(t, in)
	for _, r := range pl.Landlock.Rules {
		if (r.Path == "/dev" || r.Path == "/dev/pts") && r.Access&FSReadFile != 0 {
			t.Errorf("%s can be read: %+v", r.Path, r)
		}
	}
	if r := rule(pl, "/dev/shm"); r == nil || r.Access&FSReadFile == 0 {
		t.Errorf("/dev/shm must stay readable: %+v", r)
	}
	ns := fakeInput(ModeNamespaces)
	ns.Policy.Read.Mode = core.ReadRestricted
	pl, _ = mustPlan(t, ns)
	found := false
	for _, r := range pl.Landlock.Rules {
		found = found || (r.Path == "/dev" && r.Access&FSReadFile != 0)
	}
	if !found {
		t.Error("namespaces mode: its own minimal /dev must stay readable")
	}
}
