package windows

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

const testNonce = "00112233445566778899aabbccddeeff"

func planFor(t *testing.T, m Mode, p core.Policy, f HostFacts) (*core.Plan, *Detail) {
	t.Helper()
	plan, d, err := BuildPlan(PlanInput{Mode: m, Policy: p, Nonce: testNonce, Backend: "windows-" + string(m)}, f)
	if err != nil {
		t.Fatalf("BuildPlan(%s): %v", m, err)
	}
	return plan, d
}

func element(t *testing.T, r core.Report, b core.Boundary, subject string) core.Element {
	t.Helper()
	for _, e := range r.Elements {
		if e.Boundary == b && e.Subject == subject {
			return e
		}
	}
	t.Fatalf("no element %s %q in %+v", b, subject, r.Elements)
	return core.Element{}
}

func acesFor(d *Detail, path string) []ACE {
	var out []ACE
	for _, a := range d.ACEs {
		if winEqual(a.Path, path) {
			out = append(out, a)
		}
	}
	return out
}

var modes = []struct {
	name  string
	mode  Mode
	facts func() HostFacts
}{
	{"Unelevated", ModeUnelevated, FakeFacts},
	{"Elevated", ModeElevated, FakeSetupDone},
}

func TestPlan_RestrictingSIDsAreOnlySbxSIDs(t *testing.T) {
	forbidden := []string{"S-1-1-0", "S-1-5-11", "S-1-5-32-545", "S-1-5-4", "S-1-5-12"}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := m.facts()
			_, d := planFor(t, m.mode, core.DefaultPolicy(`C:\work`), f)
			got := d.Token.RestrictingSIDs
			want := []string{d.SIDs.Workspace, d.SIDs.Base, d.SIDs.Launch}
			if !slices.Equal(got, want) {
				t.Fatalf("restricting SIDs = %v, want %v", got, want)
			}
			for _, s := range append(forbidden, f.LogonSID, f.UserSID, f.Setup.OfflineSID, f.Setup.GroupSID) {
				if s != "" && slices.Contains(got, s) {
					t.Fatalf("restricting SIDs contain %s: Everyone-, Users- or user-writable folders would become writable", s)
				}
			}
			for _, s := range got {
				if !validSID(s) || !strings.HasPrefix(s, "S-1-5-21-") {
					t.Fatalf("bad synthetic SID %q", s)
				}
			}
		})
	}
}

func TestPlan_TokenIsWriteRestrictedWithoutPrivileges(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			_, d := planFor(t, m.mode, core.DefaultPolicy(`C:\work`), m.facts())
			if d.Token.Flags != TokenDisableMaxPrivilege|TokenLUA|TokenWriteRestricted {
				t.Fatalf("flags = %#x", d.Token.Flags)
			}
			if !slices.Equal(d.Token.Privileges, []string{"SeChangeNotifyPrivilege"}) {
				t.Fatalf("privileges = %v", d.Token.Privileges)
			}
			if !slices.Contains(d.Token.DenyOnlySIDs, sidAdministrators) {
				t.Fatalf("Administrators not deny-only: %v", d.Token.DenyOnlySIDs)
			}
			if !strings.Contains(d.Token.DefaultDACL, d.SIDs.Launch) || !strings.Contains(d.Token.DefaultDACL, d.RunAs.SID) {
				t.Fatalf("default DACL %q lacks the launch SID or the account", d.Token.DefaultDACL)
			}
		})
	}
}

func TestPlan_WorkspaceGetsInheritableModifyWithoutDeleteChild(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := allProtectedExist(m.facts(), `C:\work`)
			_, d := planFor(t, m.mode, core.DefaultPolicy(`C:\work`), f)
			aces := acesFor(d, `C:\work`)
			var sids []string
			for _, a := range aces {
				if a.Kind != Allow || a.Mask != MaskModify || a.Inherit != InheritBoth {
					t.Fatalf("workspace ACE %+v", a)
				}
				if a.Mask&FileDeleteChild != 0 {
					t.Fatal("modify grants DELETE_CHILD: protected children could be deleted through the parent")
				}
				sids = append(sids, a.SID)
			}
			want := []string{d.SIDs.Workspace}
			if m.mode == ModeElevated {
				want = []string{f.Setup.GroupSID, d.SIDs.Workspace}
			}
			if !slices.Equal(sids, want) {
				t.Fatalf("workspace ACE SIDs = %v, want %v", sids, want)
			}
			if MaskModify != 0x1301bf {
				t.Fatalf("MaskModify = %#x, want icacls M = 0x1301bf", MaskModify)
			}
		})
	}
}

func TestPlan_TempGetsBaseSID(t *testing.T) {
	f := FakeFacts()
	_, d := planFor(t, ModeUnelevated, core.DefaultPolicy(`C:\work`), f)
	aces := acesFor(d, f.TempDir)
	if len(aces) != 1 || aces[0].SID != d.SIDs.Base || aces[0].Mask != MaskModify {
		t.Fatalf("temp ACEs = %+v", aces)
	}
	p := core.DefaultPolicy(`C:\work`)
	p.WritableTmp = false
	_, d = planFor(t, ModeUnelevated, p, f)
	if len(acesFor(d, f.TempDir)) != 0 {
		t.Fatal("temp granted although writable_tmp is off")
	}
}

func TestPlan_ElevatedTempIsTheSandboxUsers(t *testing.T) {
	f := FakeSetupDone()
	p := core.DefaultPolicy(`C:\work`)
	_, d := planFor(t, ModeElevated, p, f)
	if d.Env.Set["TEMP"] != f.Setup.OfflineTemp || len(acesFor(d, f.Setup.OfflineTemp)) != 1 {
		t.Fatalf("TEMP=%q aces=%v", d.Env.Set["TEMP"], acesFor(d, f.Setup.OfflineTemp))
	}
}

func TestPlan_ProtectedGitIsDeniedWrite(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			_, d := planFor(t, m.mode, core.DefaultPolicy(`C:\work`), m.facts())
			aces := acesFor(d, `C:\work\.git`)
			if len(aces) < 2 {
				t.Fatalf("deny ACEs on .git = %+v", aces)
			}
			for _, a := range aces {
				if a.Kind != Deny || a.Inherit != InheritBoth {
					t.Fatalf("ACE %+v", a)
				}
				for _, bit := range []uint32{FileWriteData, FileAppendData, FileWriteEA, FileWriteAttributes, FileDeleteChild, Delete, WriteDAC, WriteOwner} {
					if a.Mask&bit == 0 {
						t.Fatalf("deny mask %s lacks %s", a.MaskNames, MaskString(bit))
					}
				}
				if a.Mask&FileReadData != 0 {
					t.Fatal("deny ACE also denies reads")
				}
			}
			sids := []string{aces[0].SID, aces[1].SID}
			if !slices.Contains(sids, d.SIDs.Workspace) || !slices.Contains(sids, d.SIDs.Base) {
				t.Fatalf("deny ACEs name %v; want the workspace and base SIDs", sids)
			}
		})
	}
}

func TestPlan_ProtectedNameMatchesCaseInsensitively(t *testing.T) {
	f := FakeFacts()
	f.FS = MapFS{`C:\work`: nil, `C:\WORK\.GiT`: nil}
	plan, d := planFor(t, ModeUnelevated, core.DefaultPolicy(`C:\work`), f)
	if len(acesFor(d, `C:\work\.git`)) == 0 {
		t.Fatal(".GiT on disk not protected by the .git rule")
	}
	if e := element(t, plan.Report, core.BoundaryWrite, ".git"); e.Strength != core.Enforced {
		t.Fatalf(".git = %s", e.Summary())
	}
}

func TestPlan_ProtectedMissingIsEnforcedByFreezingTheRoot(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			plan, d := planFor(t, m.mode, core.DefaultPolicy(`C:\work`), m.facts())
			e := element(t, plan.Report, core.BoundaryWrite, ".sbx.toml")
			if e.Strength != core.Enforced || !strings.Contains(e.Mechanism, "frozen") {
				t.Fatalf(".sbx.toml = %s", e.Summary())
			}
			if len(acesFor(d, `C:\work\.sbx.toml`)) != 0 {
				t.Fatal("ACE planned on a path that does not exist")
			}
			for _, pp := range d.Protected {
				if pp.Strength != core.Enforced {
					t.Fatalf("%s is %s: %s", pp.Path, pp.Strength, pp.How)
				}
			}
			if m.mode == ModeElevated {
				// Every element of the default policy is enforced: a
				// strict run is no longer refused.
				if err := plan.Report.Check(core.Acceptance{}); err != nil {
					t.Fatalf("strict check: %v", err)
				}
			}
		})
	}
}

func TestPlan_GitFileProtectsItsGitdir(t *testing.T) {
	tests := []struct {
		name     string
		gitdir   string
		wantACEs bool
	}{
		{"GitdirOutsideRootsIsReadOnlyAnyway", `C:\repos\main\.git\worktrees\w`, false},
		{"GitdirInsideWorkspaceGetsDenyACEs", `C:\work\sub\.git\worktrees\w`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := FakeFacts()
			f.FS = MapFS{
				`C:\work`:                   nil,
				`C:\work\.git`:              []byte("gitdir: " + tt.gitdir + "\n"),
				tt.gitdir:                   nil,
				tt.gitdir + `\commondir`:    []byte("../..\n"),
				winJoin(tt.gitdir, `..\..`): nil,
			}
			_, d := planFor(t, ModeUnelevated, core.DefaultPolicy(`C:\work`), f)
			var paths []string
			for _, pp := range d.Protected {
				paths = append(paths, pp.Path)
				if winEqual(pp.Path, tt.gitdir) && pp.Strength != core.Enforced {
					t.Fatalf("gitdir %s", pp.How)
				}
			}
			common := winJoin(tt.gitdir, `..\..`)
			if !slices.ContainsFunc(paths, func(p string) bool { return winEqual(p, common) }) {
				t.Fatalf("commondir %s not protected: %v", common, paths)
			}
			if got := len(acesFor(d, tt.gitdir)) > 0; got != tt.wantACEs {
				t.Fatalf("ACEs on gitdir: %v, want %v", got, tt.wantACEs)
			}
			if len(acesFor(d, `C:\work\.git`)) == 0 || acesFor(d, `C:\work\.git`)[0].Inherit != InheritNone {
				t.Fatal("the .git file itself needs a non-inheritable deny ACE")
			}
		})
	}
}

func TestPlan_GitdirInsideTempGetsDenyACEs(t *testing.T) {
	f := FakeFacts()
	gitdir := f.TempDir + `\repo\.git`
	f.FS = MapFS{`C:\work`: nil, `C:\work\.git`: []byte("gitdir: " + gitdir), gitdir: nil}
	_, d := planFor(t, ModeUnelevated, core.DefaultPolicy(`C:\work`), f)
	if len(acesFor(d, gitdir)) == 0 {
		t.Fatal("a gitdir inside TEMP is writable through the base SID but gets no deny ACE")
	}
}

func TestPlan_ReadOnlyPolicyHasNoWorkspaceGrant(t *testing.T) {
	p := core.DefaultPolicy(`C:\work`)
	p.ReadOnly = true
	_, d := planFor(t, ModeUnelevated, p, FakeFacts())
	if len(acesFor(d, `C:\work`)) != 0 || len(d.Protected) != 0 {
		t.Fatalf("read-only policy: aces=%v protected=%v", acesFor(d, `C:\work`), d.Protected)
	}
}

func TestPlan_NetworkStrengthPerMode(t *testing.T) {
	tests := []struct {
		name    string
		mode    Mode
		facts   func() HostFacts
		network core.NetworkMode
		want    core.Strength
		account string
		filters int
	}{
		{"UnelevatedDenyIsAdvisory", ModeUnelevated, FakeFacts, core.NetworkDeny, core.Advisory, `HOST\alice`, 0},
		{"UnelevatedAllow", ModeUnelevated, FakeFacts, core.NetworkAllow, core.Enforced, `HOST\alice`, 0},
		{"ElevatedDenyIsEnforcedAsOffline", ModeElevated, FakeSetupDone, core.NetworkDeny, core.Enforced, OfflineUserName, 4},
		{"ElevatedAllowRunsAsOnline", ModeElevated, FakeSetupDone, core.NetworkAllow, core.Enforced, OnlineUserName, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := core.DefaultPolicy(`C:\work`)
			p.Network.Mode = tt.network
			plan, d := planFor(t, tt.mode, p, tt.facts())
			if e := element(t, plan.Report, core.BoundaryNetwork, core.SubjectNetwork); e.Strength != tt.want {
				t.Fatalf("network = %s", e.Summary())
			}
			if d.RunAs.Account != tt.account || len(d.Filters) != tt.filters {
				t.Fatalf("run as %s with %d filters", d.RunAs.Account, len(d.Filters))
			}
		})
	}
}

func TestPlan_WFPFiltersBlockOfflineUserBothWaysAndFamilies(t *testing.T) {
	f := FakeSetupDone()
	_, d := planFor(t, ModeElevated, core.DefaultPolicy(`C:\work`), f)
	var layers []string
	for _, fl := range d.Filters {
		layers = append(layers, fl.Layer)
		if fl.UserSD != "O:SYG:SYD:(A;;CC;;;"+f.Setup.OfflineSID+")" || !strings.HasPrefix(fl.Action, "BLOCK") {
			t.Fatalf("filter %+v", fl)
		}
	}
	want := []string{"ALE_AUTH_CONNECT_V4", "ALE_AUTH_CONNECT_V6", "ALE_AUTH_RECV_ACCEPT_V4", "ALE_AUTH_RECV_ACCEPT_V6"}
	if !slices.Equal(layers, want) {
		t.Fatalf("layers %v, want %v", layers, want)
	}
}

func TestPlan_AdvisoryEnvSteersToolsOffline(t *testing.T) {
	f := FakeFacts()
	_, d := planFor(t, ModeUnelevated, core.DefaultPolicy(`C:\work`), f)
	env := d.Env.Set
	for _, k := range []string{"HTTP_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "GIT_HTTP_PROXY", "GIT_HTTPS_PROXY"} {
		if env[k] != DeadProxy {
			t.Fatalf("%s = %q", k, env[k])
		}
	}
	for k, v := range map[string]string{"PIP_NO_INDEX": "1", "NPM_CONFIG_OFFLINE": "true", "CARGO_NET_OFFLINE": "true", "NO_PROXY": "", "GIT_SSH_COMMAND": "false"} {
		if got, ok := env[k]; !ok || got != v {
			t.Fatalf("%s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
	if !strings.HasPrefix(env["PATH"], f.DenyBinDir()+";") {
		t.Fatalf("PATH = %q, deny-bin not first", env["PATH"])
	}
	if !strings.HasPrefix(env["PATHEXT"], ".BAT;.CMD;.COM;.EXE") || strings.Count(env["PATHEXT"], ".BAT") != 1 {
		t.Fatalf("PATHEXT = %q", env["PATHEXT"])
	}
	for _, s := range []string{"ssh.bat", "scp.bat"} {
		if !strings.Contains(d.Env.Stubs[s], "exit /b 1") {
			t.Fatalf("stub %s = %q", s, d.Env.Stubs[s])
		}
	}
	p := core.DefaultPolicy(`C:\work`)
	p.Network.Mode = core.NetworkAllow
	_, d = planFor(t, ModeUnelevated, p, f)
	if _, ok := d.Env.Set["HTTP_PROXY"]; ok || d.Env.DenyBin != "" {
		t.Fatal("network allowed but advisory block still planned")
	}
}

func TestPlan_JobLimitsFromPolicy(t *testing.T) {
	p := core.DefaultPolicy(`C:\work`)
	p.Limits = core.Limits{Timeout: 90 * time.Second, MemoryBytes: 512 << 20, Pids: 64, CPU: 2}
	plan, d := planFor(t, ModeElevated, p, FakeSetupDone())
	j := d.Job
	if j.LimitFlags != JobLimitKillOnJobClose|JobLimitDieOnUnhandledExcept|JobLimitJobMemory|JobLimitActiveProcess {
		t.Fatalf("limit flags %#x (%v)", j.LimitFlags, j.LimitNames)
	}
	if j.LimitFlags&(0x800|0x1000) != 0 {
		t.Fatal("breakaway allowed")
	}
	if j.JobMemoryBytes != 512<<20 || j.ActiveProcess != 64 || j.CPURate != 2500 || j.TimeoutMillis != 90000 {
		t.Fatalf("job %+v", j)
	}
	if j.CPURateFlags != JobCPURateEnable|JobCPURateHardCap || j.UILimits != 0xff {
		t.Fatalf("cpu flags %#x ui %#x", j.CPURateFlags, j.UILimits)
	}
	for _, s := range []string{core.SubjectTimeout, core.SubjectMemory, core.SubjectPids, core.SubjectCPU} {
		if e := element(t, plan.Report, core.BoundaryLimits, s); e.Strength != core.Enforced {
			t.Fatalf("%s", e.Summary())
		}
	}
}

func TestCPURate(t *testing.T) {
	tests := []struct {
		cores float64
		ncpu  int
		want  uint32
	}{
		{1, 1, 10000}, {0.5, 1, 5000}, {16, 8, 10000}, {1.5, 8, 1875}, {0.00001, 64, 1}, {1, 0, 10000}, {1, 3, 3334},
	}
	for _, tt := range tests {
		if got := cpuRate(tt.cores, tt.ncpu); got != tt.want {
			t.Errorf("cpuRate(%g, %d) = %d, want %d", tt.cores, tt.ncpu, got, tt.want)
		}
	}
}

func TestPlan_ReportFollowsRequestedOrder(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			p := core.DefaultPolicy(`C:\work`)
			p.WritableRoots = []string{`D:\cache`}
			p.Limits.MemoryBytes = 1 << 30
			plan, _ := planFor(t, m.mode, p, m.facts())
			req := core.Requested(p, tempDirs(m.mode, placeholderFacts(m.facts()), true))
			if len(req) != len(plan.Report.Elements) {
				t.Fatalf("%d elements, requested %d", len(plan.Report.Elements), len(req))
			}
			for i, e := range plan.Report.Elements {
				if e.Subject != req[i].Subject || e.Requested != req[i].Requested {
					t.Fatalf("element %d = %s, requested %s", i, e.Summary(), req[i].Summary())
				}
				if e.Strength == "" || e.Mechanism == "" && e.Strength != core.Enforced {
					t.Fatalf("element %d not assessed: %+v", i, e)
				}
			}
		})
	}
}

func placeholderFacts(f HostFacts) HostFacts { f.Setup = placeholderSetup(f.Setup); return f }

func TestPlan_ElsewhereStrengthPerMode(t *testing.T) {
	plan, _ := planFor(t, ModeUnelevated, core.DefaultPolicy(`C:\work`), FakeFacts())
	e := element(t, plan.Report, core.BoundaryWrite, core.SubjectElsewhere)
	if e.Strength != core.Advisory || !strings.Contains(e.Note, "network shares") {
		t.Fatalf("unelevated elsewhere = %s", e.Summary())
	}
	plan, _ = planFor(t, ModeElevated, core.DefaultPolicy(`C:\work`), FakeSetupDone())
	if e := element(t, plan.Report, core.BoundaryWrite, core.SubjectElsewhere); e.Strength != core.Enforced {
		t.Fatalf("elevated elsewhere = %s", e.Summary())
	}
}

func TestPlan_RestrictedReadsAreAbsentInBothModes(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			p := core.DefaultPolicy(`C:\work`)
			p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{`C:\data`}}
			plan, _ := planFor(t, m.mode, p, m.facts())
			if e := element(t, plan.Report, core.BoundaryRead, core.SubjectReads); e.Strength != core.Absent || e.Note == "" {
				t.Fatalf("reads = %s", e.Summary())
			}
		})
	}
}

func TestPlan_ElevatedLaunchUsesRunnerPipeAndNonce(t *testing.T) {
	f := FakeSetupDone()
	_, d := planFor(t, ModeElevated, core.DefaultPolicy(`C:\work`), f)
	argv := d.Launch.RunnerArgv
	if len(argv) == 0 || argv[0] != f.RunnerPath() || !slices.Contains(argv, testNonce) || !slices.Contains(argv, PipeName(testNonce)) {
		t.Fatalf("runner argv %v", argv)
	}
	want := "D:P(A;;GA;;;" + f.UserSID + ")(A;;GRGW;;;" + f.Setup.OfflineSID + ")"
	if d.Launch.PipeSDDL != want {
		t.Fatalf("pipe SDDL %q, want %q (only the plugin's user and the runner's)", d.Launch.PipeSDDL, want)
	}
	if d.Launch.ChildFlags&CreateSuspended == 0 {
		t.Fatal("child not created suspended")
	}
}

func TestPlan_ElevatedWithoutSetupStillPlans(t *testing.T) {
	plan, d := planFor(t, ModeElevated, core.DefaultPolicy(`C:\work`), FakeFacts())
	if !strings.Contains(d.RunAs.SID, "created by setup") || len(plan.Steps) == 0 {
		t.Fatalf("run as %+v", d.RunAs)
	}
}

func TestPlan_RefusesBadInput(t *testing.T) {
	tests := []struct {
		name  string
		in    PlanInput
		facts HostFacts
		want  error
	}{
		{"RelativeWorkspace", PlanInput{Mode: ModeUnelevated, Policy: core.DefaultPolicy(`work`), Nonce: testNonce}, FakeFacts(), core.ErrInvalidPolicy},
		{"UnixWorkspace", PlanInput{Mode: ModeUnelevated, Policy: core.DefaultPolicy(`/work`), Nonce: testNonce}, FakeFacts(), core.ErrInvalidPolicy},
		{"UnknownMode", PlanInput{Mode: "bogus", Policy: core.DefaultPolicy(`C:\work`), Nonce: testNonce}, FakeFacts(), core.ErrInvalidPolicy},
		{"NoNonce", PlanInput{Mode: ModeUnelevated, Policy: core.DefaultPolicy(`C:\work`)}, FakeFacts(), core.ErrInvalidPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := BuildPlan(tt.in, tt.facts); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	f := FakeFacts()
	f.SIDSeed = "zz"
	if _, _, err := BuildPlan(PlanInput{Mode: ModeUnelevated, Policy: core.DefaultPolicy(`C:\work`), Nonce: testNonce}, f); err == nil {
		t.Fatal("bad seed accepted")
	}
}

func TestPlan_IsDeterministic(t *testing.T) {
	p := core.DefaultPolicy(`C:\work`)
	a, _ := planFor(t, ModeElevated, p, FakeSetupDone())
	b, _ := planFor(t, ModeElevated, p, FakeSetupDone())
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("same input, different plans")
	}
}

func TestWorkspaceSID_IsolatesWorkspacesButIgnoresCase(t *testing.T) {
	seed := FakeFacts().SIDSeed
	a, _ := WorkspaceSID(seed, `C:\work\a`)
	b, _ := WorkspaceSID(seed, `C:\work\b`)
	a2, _ := WorkspaceSID(seed, `c:/WORK/A/`)
	base, _ := BaseSID(seed)
	other, _ := WorkspaceSID(strings.Repeat("77", 32), `C:\work\a`)
	if a == b || a != a2 || a == base || a == other {
		t.Fatalf("a=%s b=%s a2=%s base=%s other=%s", a, b, a2, base, other)
	}
}

func TestValidSID(t *testing.T) {
	for s, want := range map[string]bool{
		"S-1-5-21-1-2-3-4": true, "S-1-1-0": true, "S-1-5-32-544": true,
		"S-1-5": false, "X-1-5-21": false, "S-1-5--1": false, "S-1-5-21-99999999999": false,
	} {
		if validSID(s) != want {
			t.Errorf("validSID(%q) = %v", s, !want)
		}
	}
}

func TestWinPaths(t *testing.T) {
	tests := []struct{ in, clean, dir string }{
		{`C:\work\`, `C:\work`, `C:\`},
		{`c:/work//a/./b/../c`, `C:\work\a\c`, `C:\work\a`},
		{`\\srv\share\x`, `\\srv\share\x`, `\\srv\share`},
		{`C:\`, `C:\`, `C:\`},
	}
	for _, tt := range tests {
		if got := winClean(tt.in); got != tt.clean {
			t.Errorf("winClean(%q) = %q, want %q", tt.in, got, tt.clean)
		}
		if got := winDir(tt.in); got != tt.dir {
			t.Errorf("winDir(%q) = %q, want %q", tt.in, got, tt.dir)
		}
	}
	if !winWithin(`c:\WORK\.git`, `C:\work`) || winWithin(`C:\workshop`, `C:\work`) {
		t.Error("winWithin")
	}
	if !winIsAbs(`C:\x`) || winIsAbs(`C:x`) || winIsAbs(`/x`) || !winIsAbs(`\\srv\s`) {
		t.Error("winIsAbs")
	}
	if !winIsUNC(`\\srv\s`) || winIsUNC(`\\.\NUL`) || winIsUNC(`C:\x`) {
		t.Error("winIsUNC")
	}
}

func TestMaskString(t *testing.T) {
	if got := MaskString(MaskDenyWrite); got != "WRITE_DATA|APPEND_DATA|WRITE_EA|DELETE_CHILD|WRITE_ATTRIBUTES|DELETE|WRITE_DAC|WRITE_OWNER" {
		t.Fatal(got)
	}
	a := newACE(`C:\w`, Deny, "S-1-5-21-1-2-3-4", MaskDenyWrite, InheritBoth, "")
	if a.SDDL() != "(D;OICI;0xd0156;;;S-1-5-21-1-2-3-4)" {
		t.Fatal(a.SDDL())
	}
}

func TestPlan_RefusesRootsThatWouldExposeProfileOrSystem(t *testing.T) {
	for _, root := range []string{`C:\Users\alice`, `C:\Users`, `C:\`, `D:\`, `C:\Windows\Temp`, `C:\Program Files\Git`, `C:\Users\alice\AppData\Local\sbx\x`} {
		t.Run(root, func(t *testing.T) {
			_, _, err := BuildPlan(PlanInput{Mode: ModeUnelevated, Policy: core.DefaultPolicy(root), Nonce: testNonce}, FakeFacts())
			if !errors.Is(err, core.ErrInvalidPolicy) {
				t.Fatalf("got %v, want an invalid-policy error", err)
			}
		})
	}
	p := core.DefaultPolicy(`C:\Users\alice\src\proj`)
	p.WritableRoots = []string{`C:\Users\alice`}
	_, _, err := BuildPlan(PlanInput{Mode: ModeUnelevated, Policy: p, Nonce: testNonce}, FakeFacts())
	if err == nil || !strings.Contains(err.Error(), "writable_roots[0]") {
		t.Fatalf("err %v", err)
	}
	if _, _, err := BuildPlan(PlanInput{Mode: ModeUnelevated, Policy: core.DefaultPolicy(`C:\Users\alice\src\proj`), Nonce: testNonce}, FakeFacts()); err != nil {
		t.Fatalf("a project inside the profile is fine: %v", err)
	}
}

func TestPlan_ElevatedTempACEsAreLeftToSetup(t *testing.T) {
	f := FakeSetupDone()
	_, d := planFor(t, ModeElevated, core.DefaultPolicy(`C:\work`), f)
	aces := acesFor(d, f.Setup.OfflineTemp)
	if len(aces) != 1 || aces[0].Stage != StageSetup {
		t.Fatalf("temp ACEs %+v", aces)
	}
	fo := newFakeOS()
	if _, err := ApplyACEs(fo, &memStore{}, d.ACEs, fixedNow); err != nil {
		t.Fatal(err)
	}
	for _, c := range fo.calls {
		if strings.Contains(c, "sbx-offline") {
			t.Fatalf("the run touched the sandbox user's TEMP: %v", fo.calls)
		}
	}
}

func TestPlan_ElevatedReadOnlyWorkspaceIsReadableByGroup(t *testing.T) {
	f := FakeSetupDone()
	p := core.DefaultPolicy(`C:\work`)
	p.ReadOnly = true
	_, d := planFor(t, ModeElevated, p, f)
	aces := acesFor(d, `C:\work`)
	if len(aces) != 1 || aces[0].SID != f.Setup.GroupSID || aces[0].Mask != MaskReadExecute {
		t.Fatalf("aces %+v", aces)
	}
}
