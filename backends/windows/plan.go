package windows

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/sbxdev/sbx/backends/windows/protocol"
	"github.com/sbxdev/sbx/core"
)

// Mode is how the Windows backend confines a command.
type Mode string

// Modes.
const (
	// ModeUnelevated runs the command as the real user under a
	// write-restricted token; no administrator rights are needed.
	ModeUnelevated Mode = "unelevated"
	// ModeElevated runs the command as a dedicated sandbox user created
	// by a one-time administrator setup.
	ModeElevated Mode = "elevated"
)

// CreateRestrictedToken flags (winnt.h).
const (
	TokenDisableMaxPrivilege uint32 = 0x1 // DISABLE_MAX_PRIVILEGE
	TokenSandboxInert        uint32 = 0x2 // SANDBOX_INERT
	TokenLUA                 uint32 = 0x4 // LUA_TOKEN
	TokenWriteRestricted     uint32 = 0x8 // WRITE_RESTRICTED
)

// Job object limit flags, UI restrictions and CPU-rate flags (winnt.h).
const (
	JobLimitActiveProcess        uint32 = 0x00000008
	JobLimitJobMemory            uint32 = 0x00000200
	JobLimitDieOnUnhandledExcept uint32 = 0x00000400
	JobLimitBreakawayOK          uint32 = 0x00000800 // never set by sbx; refused by the runner
	JobLimitSilentBreakawayOK    uint32 = 0x00001000 // never set by sbx; refused by the runner
	JobLimitKillOnJobClose       uint32 = 0x00002000

	JobUILimitAll uint32 = 0x000000FF // HANDLES|READ/WRITECLIPBOARD|SYSTEMPARAMETERS|DISPLAYSETTINGS|GLOBALATOMS|DESKTOP|EXITWINDOWS

	JobCPURateEnable  uint32 = 0x1 // JOB_OBJECT_CPU_RATE_CONTROL_ENABLE
	JobCPURateHardCap uint32 = 0x4 // JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP
)

// Process creation flags (winbase.h).
const (
	CreateSuspended          uint32 = 0x00000004
	CreateNewProcessGroup    uint32 = 0x00000200
	CreateUnicodeEnvironment uint32 = 0x00000400
	ExtendedStartupInfo      uint32 = 0x00080000
	CreateNoWindow           uint32 = 0x08000000
	LogonWithProfile         uint32 = 0x00000001
)

// childFlags are the command's creation flags, in both modes: created
// suspended (it runs only once inside its job), with a Unicode environment
// block and the extended startup info (its handle list or pseudo console),
// in a process group of its own (CTRL_BREAK reaches it).
const childFlags = CreateSuspended | CreateUnicodeEnvironment | ExtendedStartupInfo | CreateNewProcessGroup

// Well-known SIDs the plan names.
const (
	sidSystem         = "S-1-5-18"
	sidAdministrators = "S-1-5-32-544"
)

// DeadProxy is the proxy URL of the advisory network block: the discard
// port on loopback, where nothing normally listens.
const DeadProxy = "http://127.0.0.1:9"

// Detail is the Windows backend's plan: everything Run (and, for the
// elevated mode, Setup) does, as data. It is the content of
// core.Plan.Detail.
type Detail struct {
	// Mode is the mode the plan is for.
	Mode Mode `json:"mode"`
	// Selected explains the choice of mode for the "windows" backend.
	Selected string `json:"selected,omitempty"`
	// RunAs is the account the command runs as.
	RunAs Identity `json:"run_as"`
	// SIDs are sbx's synthetic SIDs for this run.
	SIDs SIDs `json:"sids"`
	// Token is the restricted token the command gets.
	Token TokenPlan `json:"token"`
	// ACEs are the entries added to DACLs, in order (journaled).
	ACEs []ACE `json:"aces"`
	// Protected are the protected paths and how each is held.
	Protected []ProtectedPlan `json:"protected"`
	// Desktop is the run's private desktop.
	Desktop DesktopPlan `json:"desktop"`
	// Job is the Job object the command runs in.
	Job JobPlan `json:"job"`
	// Filters are the WFP filters that enforce network denial (installed
	// by the elevated setup; empty in the unelevated mode).
	Filters []WFPFilter `json:"filters,omitempty"`
	// Env are the environment changes.
	Env EnvPlan `json:"env"`
	// Launch is how the command is started.
	Launch LaunchPlan `json:"launch"`
	// Residual lists, honestly, what a hostile command can still do.
	Residual []string `json:"residual"`
}

// Identity is an account.
type Identity struct {
	Account string `json:"account"`
	SID     string `json:"sid"`
}

// SIDs are the synthetic SIDs of a run (see sid.go).
type SIDs struct {
	Base      string `json:"base"`
	Workspace string `json:"workspace"`
	Launch    string `json:"launch"`
}

// TokenPlan describes the restricted token.
type TokenPlan struct {
	// Source is whose token is restricted.
	Source string `json:"source"`
	// Flags are CreateRestrictedToken's flags; FlagNames spells them.
	Flags     uint32   `json:"flags"`
	FlagNames []string `json:"flag_names"`
	// RestrictingSIDs is the restricting-SID list. It never holds
	// Everyone, Users, Authenticated Users, the logon SID or the user's
	// own SID, so a location writable by any of those is not writable
	// from the sandbox unless sbx granted one of these SIDs there.
	RestrictingSIDs []string `json:"restricting_sids"`
	// DenyOnlySIDs are made deny-only (SidsToDisable).
	DenyOnlySIDs []string `json:"deny_only_sids"`
	// Privileges left in the token.
	Privileges []string `json:"privileges"`
	// DefaultDACL is the token's default DACL (SDDL), set with
	// SetTokenInformation(TokenDefaultDacl).
	DefaultDACL string `json:"default_dacl"`
}

// ProtectedPlan is one protected path and how it is held.
type ProtectedPlan struct {
	core.ProtectedPath
	// Strength is how strongly it is kept read-only.
	Strength core.Strength `json:"strength"`
	// How says what holds it (or why nothing can).
	How string `json:"how"`
}

// DesktopPlan is the run's private desktop.
type DesktopPlan struct {
	// Name is the lpDesktop of the command ("WinSta0\sbx-<nonce>").
	Name string `json:"name"`
	// SDDL is the desktop's security descriptor.
	SDDL string `json:"sddl"`
	// WinStaACE is the temporary ACE added to WinSta0 for the launch SID
	// (removed after the run), without which user32 fails to initialise
	// in a write-restricted process.
	WinStaACE string `json:"winsta_ace"`
}

// JobPlan is the Job object.
type JobPlan struct {
	LimitFlags     uint32   `json:"limit_flags"`
	LimitNames     []string `json:"limit_names"`
	JobMemoryBytes uint64   `json:"job_memory_bytes,omitempty"`
	ActiveProcess  uint32   `json:"active_process,omitempty"`
	// CPURate is in 1/100 of a percent of all processors (10000 = all).
	CPURate      uint32 `json:"cpu_rate,omitempty"`
	CPURateFlags uint32 `json:"cpu_rate_flags,omitempty"`
	UILimits     uint32 `json:"ui_limits"`
	// TimeoutMillis is when the job is terminated (0: never).
	TimeoutMillis int64 `json:"timeout_ms,omitempty"`
}

// WFPFilter is one WFP filter of the elevated setup.
type WFPFilter struct {
	Name   string `json:"name"`
	Layer  string `json:"layer"`
	Action string `json:"action"`
	// UserSD is the FWPM_CONDITION_ALE_USER_ID security descriptor: the
	// filter matches sockets of users it grants FWP_ACTRL_MATCH_FILTER
	// (CC) to.
	UserSD string `json:"user_sd"`
	Weight uint8  `json:"weight"`
}

// EnvPlan is the environment changes.
type EnvPlan struct {
	// Set are variables set (after inheritance, before Policy.Env.Set).
	Set map[string]string `json:"set"`
	// DenyBin is the stub directory prepended to PATH ("" when unused).
	DenyBin string `json:"deny_bin,omitempty"`
	// Stubs are the files written into DenyBin.
	Stubs map[string]string `json:"stubs,omitempty"`
}

// LaunchPlan is how the command is started.
type LaunchPlan struct {
	// How lists the calls, in order.
	How []string `json:"how"`
	// RunnerArgv is the runner's command line (elevated mode), with the
	// pipe name and nonce of this plan.
	RunnerArgv []string `json:"runner_argv,omitempty"`
	// PipeName and PipeSDDL are the runner channel (elevated mode).
	PipeName string `json:"pipe_name,omitempty"`
	PipeSDDL string `json:"pipe_sddl,omitempty"`
	// ChildFlags are the command's process-creation flags.
	ChildFlags uint32 `json:"child_flags"`
}

// PlanInput is what BuildPlan needs besides the facts.
type PlanInput struct {
	// Mode is the mode to plan for.
	Mode Mode
	// Policy is the policy (validated by BuildPlan).
	Policy core.Policy
	// Nonce is the run's random nonce (launch SID, desktop, pipe names).
	Nonce string
	// Backend is the backend name for the report.
	Backend string
	// Selected, for the "windows" backend, says why Mode was chosen.
	Selected string
}

// BuildPlan computes everything a run does, from the policy and the host
// facts alone. It is pure: no system call, same output for the same input.
func BuildPlan(in PlanInput, f HostFacts) (*core.Plan, *Detail, error) {
	p := in.Policy
	if err := p.Validate(winIsAbs, nil); err != nil {
		return nil, nil, err
	}
	if in.Nonce == "" {
		return nil, nil, fmt.Errorf("windows plan: empty run nonce (a bug in the caller): %w", core.ErrInvalidPolicy)
	}
	if f.FS == nil {
		f.FS = MapFS{}
	}
	if in.Mode == ModeElevated && !f.Setup.Done() {
		// The plan is still computed (it is what setup would enable),
		// with placeholders for the accounts setup would create.
		f.Setup = placeholderSetup(f.Setup)
	}
	d := &Detail{Mode: in.Mode, Selected: in.Selected}
	var err error
	if d.SIDs.Base, err = BaseSID(f.SIDSeed); err != nil {
		return nil, nil, err
	}
	if d.SIDs.Workspace, err = WorkspaceSID(f.SIDSeed, p.Workspace); err != nil {
		return nil, nil, err
	}
	if d.SIDs.Launch, err = LaunchSID(f.SIDSeed, in.Nonce); err != nil {
		return nil, nil, err
	}
	deny := p.Network.Mode == core.NetworkDeny
	switch in.Mode {
	case ModeUnelevated:
		d.RunAs = Identity{Account: f.UserName, SID: f.UserSID}
		d.Token.Source = "the plugin's own token (the real user)"
	case ModeElevated:
		if deny {
			d.RunAs = Identity{Account: OfflineUserName, SID: f.Setup.OfflineSID}
		} else {
			d.RunAs = Identity{Account: OnlineUserName, SID: f.Setup.OnlineSID}
		}
		d.Token.Source = "the runner's own token (" + d.RunAs.Account + ", logged on with CreateProcessWithLogonW)"
	default:
		return nil, nil, fmt.Errorf("windows plan: unknown mode %q: %w", in.Mode, core.ErrInvalidPolicy)
	}

	// The token: write-restricted, only sbx's SIDs restricting.
	d.Token.Flags = TokenDisableMaxPrivilege | TokenLUA | TokenWriteRestricted
	d.Token.FlagNames = []string{"DISABLE_MAX_PRIVILEGE", "LUA_TOKEN", "WRITE_RESTRICTED"}
	d.Token.RestrictingSIDs = []string{d.SIDs.Workspace, d.SIDs.Base, d.SIDs.Launch}
	d.Token.DenyOnlySIDs = []string{sidAdministrators}
	d.Token.Privileges = []string{"SeChangeNotifyPrivilege"}
	d.Token.DefaultDACL = fmt.Sprintf("D:(A;;GA;;;%s)(A;;GA;;;%s)(A;;GA;;;%s)", d.RunAs.SID, d.SIDs.Launch, sidSystem)

	tmpDirs := tempDirs(in.Mode, f, deny)
	writable := p.WritePaths()
	if err := checkRoots(writable, f); err != nil {
		return nil, nil, err
	}
	// tmpAreas are the temporary directories the command may write;
	// roots are all the directories it may write.
	var tmpAreas []string
	if p.WritableTmp {
		tmpAreas = tmpDirs
	}
	roots := append(slices.Clone(writable), tmpAreas...)

	// The protected paths, and which roots must be frozen to hold the
	// missing ones (freeze.go).
	denySIDs := []string{d.SIDs.Workspace, d.SIDs.Base}
	if in.Mode == ModeElevated {
		denySIDs = append(denySIDs, f.Setup.GroupSID)
	}
	var pps []core.ProtectedPath
	if len(writable) > 0 {
		pps = resolveProtected(p, writable, f.FS)
	}
	fz := planFreeze(pps, writable, tmpAreas, f.FS)

	// ACEs: allow on writable paths, deny on protected paths. The root's
	// ACEs replace sbx's earlier ones there, so a root that was frozen
	// and is now fully writable (or the reverse) keeps no stale grant or
	// deny.
	for _, r := range writable {
		var grantees []string
		if in.Mode == ModeElevated {
			grantees = append(grantees, f.Setup.GroupSID)
		}
		grantees = append(grantees, d.SIDs.Workspace)
		for _, sid := range grantees {
			who := "the workspace SID (restricted access check)"
			if sid != d.SIDs.Workspace {
				who = "the sandbox group (normal access check)"
			}
			var aces []ACE
			if fz.frozen[winKey(r)] {
				aces = []ACE{
					newACE(r, Allow, sid, MaskFrozenDir, InheritNone, "frozen writable root: "+who+" may list and traverse it, not add, remove or rename its entries (a protected name is missing)"),
					newACE(r, Allow, sid, MaskModify, InheritBelow, "frozen writable root: "+who+" may modify everything below it"),
				}
			} else {
				aces = []ACE{newACE(r, Allow, sid, MaskModify, InheritBoth, "writable root: "+who+" may modify")}
			}
			for _, a := range aces {
				a.Replace = true
				d.ACEs = append(d.ACEs, a)
			}
		}
		if fd := fz.deny[winKey(r)]; fd != nil {
			why := "writable root inside another one, holding protected names: may not be renamed or deleted (its protected names would go with it)"
			if fz.frozen[winKey(r)] {
				why = "frozen writable root: no sbx SID may add, remove or rename its entries, even through a grant inherited from above"
			}
			for _, sid := range denySIDs {
				a := newACE(r, Deny, sid, fd.mask, InheritNone, why)
				a.Replace = true
				d.ACEs = append(d.ACEs, a)
			}
		}
	}
	for _, t := range tmpAreas {
		a := newACE(t, Allow, d.SIDs.Base, MaskModify, InheritBoth, "temporary directory: the base SID may modify")
		if in.Mode == ModeElevated {
			// The sandbox users' TEMP is theirs: only the
			// administrator setup can change its DACL.
			a.Stage = StageSetup
		}
		d.ACEs = append(d.ACEs, a)
	}
	if in.Mode == ModeElevated {
		// The sandbox users must read what the command is about,
		// even where the real user's profile hides it.
		var readable []string
		if p.ReadOnly {
			readable = append(readable, p.Workspace)
		}
		if p.Read.Mode == core.ReadRestricted {
			readable = append(readable, p.Read.Paths...)
		}
		for _, r := range readable {
			d.ACEs = append(d.ACEs, newACE(winClean(r), Allow, f.Setup.GroupSID, MaskReadExecute, InheritBoth, "readable by the sandbox group"))
		}
	}
	nul := newACE(`\\.\NUL`, Allow, d.SIDs.Base, FileGenericRead|FileGenericWrite, InheritNone, "the NUL device stays writable (\"> NUL\")")
	nul.Optional = true
	d.ACEs = append(d.ACEs, nul)

	for _, pp := range pps {
		d.Protected = append(d.Protected, planProtected(pp, roots, denySIDs, fz, &d.ACEs))
	}
	// Directories on the way to deeper protected paths (writable roots
	// got theirs above).
	for _, fd := range fz.denyPaths() {
		if isWritableRoot(fd.path, writable) {
			continue
		}
		why := "on the way to a protected path: may not be renamed or deleted"
		if fd.mask&FileWriteData != 0 {
			why = "nearest existing parent of a missing protected path: frozen (no entry may be added, removed or renamed)"
		}
		for _, sid := range denySIDs {
			a := newACE(fd.path, Deny, sid, fd.mask, InheritNone, why)
			a.Replace = true
			d.ACEs = append(d.ACEs, a)
		}
	}

	// Desktop, job, environment, launch.
	d.Desktop = DesktopPlan{
		Name:      `WinSta0\sbx-` + in.Nonce[:12],
		SDDL:      fmt.Sprintf("D:P(A;;GA;;;%s)(A;;GA;;;%s)(A;;GA;;;%s)", d.RunAs.SID, d.SIDs.Launch, sidSystem),
		WinStaACE: fmt.Sprintf("(A;;0x37f;;;%s)", d.SIDs.Launch),
	}
	d.Job = planJob(p.Limits, f.NumCPU)
	d.Env = planEnv(in.Mode, p, f, deny)
	if in.Mode == ModeElevated {
		d.Filters = PlanFilters(f.Setup.OfflineSID)
	}
	d.Launch = planLaunch(in.Mode, f, in.Nonce, d.RunAs)
	d.Residual = residual(in.Mode, deny)

	report := assess(in, p, f, d, tmpDirs)
	plan := &core.Plan{Backend: in.Backend, Report: report, Steps: steps(d)}
	if plan.Detail, err = json.Marshal(d); err != nil {
		return nil, nil, fmt.Errorf("windows plan: encode detail: %w", err)
	}
	return plan, d, nil
}

// checkRoots refuses writable roots whose persistent, inherited grant would
// hand the sandbox the user's startup folder, shell profiles and
// credentials, or the system: the profile itself or anything above it, a
// drive root, and the Windows and Program Files trees.
func checkRoots(roots []string, f HostFacts) error {
	var probs []core.Problem
	for i, r := range roots {
		why := ""
		c := winClean(r)
		switch {
		case f.ProfileDir != "" && winWithin(f.ProfileDir, r):
			why = "contains your profile (" + f.ProfileDir + "): the Windows backend grants writes with persistent, inherited ACEs, which would make your Startup folder, PowerShell profile and credentials writable by every sandboxed command; use a project directory"
		case len(c) == 3 && c[1] == ':':
			why = "is a drive root: granting it would make the whole drive writable; use a project directory"
		case f.SystemRoot != "" && winWithin(r, f.SystemRoot), f.ProgramFiles != "" && winWithin(r, f.ProgramFiles):
			why = "is a system directory; sbx does not change its ACLs"
		case f.LocalAppData != "" && winWithin(r, f.StateDir()):
			why = "is sbx's own state directory"
		}
		if why != "" {
			field := "workspace"
			if i > 0 {
				field = fmt.Sprintf("writable_roots[%d]", i-1)
			}
			probs = append(probs, core.Problem{Field: field, Value: r, Reason: why})
		}
	}
	if len(probs) > 0 {
		return &core.PolicyError{Problems: probs}
	}
	return nil
}

// placeholderSetup fills the accounts of a setup that has not run, so the
// plan still shows what the elevated mode would do.
func placeholderSetup(s SetupState) SetupState {
	if s.GroupSID == "" {
		s.GroupSID = "<SID of " + GroupName + ", created by setup>"
	}
	if s.OfflineSID == "" {
		s.OfflineSID = "<SID of " + OfflineUserName + ", created by setup>"
	}
	if s.OnlineSID == "" {
		s.OnlineSID = "<SID of " + OnlineUserName + ", created by setup>"
	}
	if s.OfflineTemp == "" {
		s.OfflineTemp = `C:\Users\` + OfflineUserName + `\AppData\Local\Temp`
	}
	if s.OnlineTemp == "" {
		s.OnlineTemp = `C:\Users\` + OnlineUserName + `\AppData\Local\Temp`
	}
	return s
}

// tempDirs are the temporary directories of the account the command runs
// as: the real user's %TEMP%, or the sandbox user's.
func tempDirs(m Mode, f HostFacts, deny bool) []string {
	switch {
	case m == ModeUnelevated:
		return []string{f.TempDir}
	case deny:
		return []string{f.Setup.OfflineTemp}
	default:
		return []string{f.Setup.OnlineTemp}
	}
}

// planProtected decides how one protected path is held and adds its ACEs.
// fz says whether the freeze holds a missing path (freeze.go).
func planProtected(pp core.ProtectedPath, roots, denySIDs []string, fz *freezePlan, aces *[]ACE) ProtectedPlan {
	inside := false
	for _, r := range roots {
		if winWithin(pp.Path, r) {
			inside = true
		}
	}
	frozen, held := fz.how[winKey(pp.Path)]
	out := ProtectedPlan{ProtectedPath: pp}
	switch {
	case !inside:
		out.Strength = core.Enforced
		out.How = "outside every writable root: no sbx SID is granted there"
	case !pp.Exists && held:
		out.Strength = core.Enforced
		out.How = frozen
	case !pp.Exists:
		out.Strength = core.Absent
		out.How = "does not exist, where sbx does not freeze (temporary directories are never frozen): an ACL cannot refuse creating one name in a writable directory (FILE_ADD_FILE is not per name), so the command may create it; sbx reports it after the run"
	default:
		inherit := InheritNone
		if pp.IsDir {
			inherit = InheritBoth
		}
		for _, sid := range denySIDs {
			*aces = append(*aces, newACE(pp.Path, Deny, sid, MaskDenyWrite, inherit, "protected "+pp.Name+": deny every kind of write, rename and delete"))
		}
		out.Strength = core.Enforced
		out.How = "explicit deny-write ACE on the object itself (DELETE included): case variants (.GiT), 8.3 names and alternate data streams (" + pp.Name + ":s) open the same object and are refused; its directory grants no FILE_DELETE_CHILD, so it cannot be renamed away, deleted or replaced"
		if held {
			out.How += "; " + frozen
		}
	}
	return out
}

// isWritableRoot reports whether path is one of the writable roots.
func isWritableRoot(path string, writable []string) bool {
	for _, r := range writable {
		if winEqual(r, path) {
			return true
		}
	}
	return false
}

// planJob turns the limits into Job object settings.
func planJob(l core.Limits, ncpu int) JobPlan {
	j := JobPlan{
		LimitFlags: JobLimitKillOnJobClose | JobLimitDieOnUnhandledExcept,
		LimitNames: []string{"KILL_ON_JOB_CLOSE", "DIE_ON_UNHANDLED_EXCEPTION"},
		UILimits:   JobUILimitAll,
	}
	if l.MemoryBytes > 0 {
		j.LimitFlags |= JobLimitJobMemory
		j.LimitNames = append(j.LimitNames, "JOB_MEMORY")
		j.JobMemoryBytes = uint64(l.MemoryBytes)
	}
	if l.Pids > 0 {
		j.LimitFlags |= JobLimitActiveProcess
		j.LimitNames = append(j.LimitNames, "ACTIVE_PROCESS")
		j.ActiveProcess = uint32(min(l.Pids, math.MaxUint32))
	}
	if l.CPU > 0 {
		j.CPURate = cpuRate(l.CPU, ncpu)
		j.CPURateFlags = JobCPURateEnable | JobCPURateHardCap
	}
	if l.Timeout > 0 {
		j.TimeoutMillis = l.Timeout.Milliseconds()
	}
	return j
}

// cpuRate converts cores to the Job CPU rate: 1/100 of a percent of all
// processors, between 1 and 10000.
func cpuRate(cores float64, ncpu int) uint32 {
	if ncpu < 1 {
		ncpu = 1
	}
	r := math.Ceil(cores / float64(ncpu) * 10000)
	return uint32(max(1, min(r, 10000)))
}

// AdvisoryNetworkEnv are the variables that steer cooperative programs off
// the network.
func AdvisoryNetworkEnv() map[string]string {
	env := map[string]string{
		"GIT_SSH_COMMAND":     "false",
		"GIT_ALLOW_PROTOCOLS": "file",
		"PIP_NO_INDEX":        "1",
		"NPM_CONFIG_OFFLINE":  "true",
		"CARGO_NET_OFFLINE":   "true",
		"GOPROXY":             "off",
		"NO_PROXY":            "",
		"no_proxy":            "",
	}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "FTP_PROXY", "GIT_HTTP_PROXY", "GIT_HTTPS_PROXY"} {
		env[k] = DeadProxy
		env[strings.ToLower(k)] = DeadProxy
	}
	return env
}

// denyStubs are the network tools shadowed by the deny-bin directory.
var denyStubs = []string{"ssh", "scp", "sftp", "curl", "wget", "ftp", "telnet"}

// stubScript is the content of each stub.
const stubScript = "@echo sbx: network access is denied by the sandbox policy 1>&2\r\n@exit /b 1\r\n"

// planEnv computes the environment changes.
func planEnv(m Mode, p core.Policy, f HostFacts, deny bool) EnvPlan {
	e := EnvPlan{Set: map[string]string{"SBX_SANDBOX": "windows-" + string(m)}}
	if m == ModeElevated {
		tmp := tempDirs(m, f, deny)[0]
		e.Set["TEMP"] = tmp
		e.Set["TMP"] = tmp
	}
	if !deny {
		return e
	}
	e.Set["SBX_SANDBOX_NETWORK_DISABLED"] = "1"
	for k, v := range AdvisoryNetworkEnv() {
		e.Set[k] = v
	}
	if m == ModeUnelevated {
		// Only the unelevated mode needs the stubs: the elevated one
		// blocks the network with WFP, and the stubs live in the real
		// user's profile, which the sandbox users cannot read.
		e.DenyBin = f.DenyBinDir()
		e.Stubs = map[string]string{}
		for _, s := range denyStubs {
			e.Stubs[s+".bat"] = stubScript
		}
		e.Set["PATH"] = e.DenyBin + ";" + f.PATH
		e.Set["PATHEXT"] = stubFirstPathext(f.PATHEXT)
	}
	return e
}

// stubFirstPathext moves .BAT (and .CMD) to the front of PATHEXT, so that
// in any directory searched by extension order the stubs win.
func stubFirstPathext(pathext string) string {
	out := []string{".BAT", ".CMD"}
	for _, e := range strings.Split(pathext, ";") {
		if e == "" || strings.EqualFold(e, ".BAT") || strings.EqualFold(e, ".CMD") {
			continue
		}
		out = append(out, e)
	}
	return strings.Join(out, ";")
}

// PipeName is the runner channel of a run.
func PipeName(nonce string) string { return `\\.\pipe\sbx-runner-` + nonce }

// planLaunch describes how the command is started.
func planLaunch(m Mode, f HostFacts, nonce string, who Identity) LaunchPlan {
	l := LaunchPlan{ChildFlags: childFlags}
	child := []string{
		"CreateRestrictedToken(" + "DISABLE_MAX_PRIVILEGE|LUA_TOKEN|WRITE_RESTRICTED, restricting SIDs above)",
		"SetTokenInformation(TokenDefaultDacl)",
		"CreateJobObject + SetInformationJobObject (limits, UI restrictions, CPU rate)",
		"CreateProcessAsUserW(CREATE_SUSPENDED, handle list = stdio only, private desktop)",
		"AssignProcessToJobObject (on failure: TerminateProcess, the child never ran)",
		"ResumeThread",
	}
	if m == ModeUnelevated {
		l.How = append([]string{"plugin (the real user): OpenProcessToken(self)"}, child...)
		return l
	}
	l.PipeName = PipeName(nonce)
	// Only the real user (the plugin) and the sandbox user (the runner)
	// may open the pipe; remote clients are rejected by the pipe mode.
	l.PipeSDDL = fmt.Sprintf("D:P(A;;GA;;;%s)(A;;GRGW;;;%s)", f.UserSID, who.SID)
	l.RunnerArgv = []string{f.RunnerPath(), "--pipe", l.PipeName, "--nonce", nonce, "--protocol", fmt.Sprint(protocol.Version)}
	l.How = append([]string{
		"plugin: CryptUnprotectData(" + who.Account + " password)",
		"plugin: CreateNamedPipeW(" + l.PipeName + ", FIRST_PIPE_INSTANCE, 1 instance, REJECT_REMOTE_CLIENTS, DACL above)",
		"plugin: CreateProcessWithLogonW(" + who.Account + ", LOGON_WITH_PROFILE, runner, CREATE_SUSPENDED|CREATE_NO_WINDOW) → outer Job (KILL_ON_JOB_CLOSE) → ResumeThread",
		"plugin: ConnectNamedPipe; GetNamedPipeClientProcessId must be the runner; first frame must carry the nonce",
		"runner: OpenProcessToken(self)",
	}, child...)
	return l
}

// PlanFilters are the WFP filters the elevated setup installs for the
// offline user: every connection it makes or accepts, loopback included,
// over IPv4 and IPv6, is blocked.
func PlanFilters(offlineSID string) []WFPFilter {
	sd := fmt.Sprintf("O:SYG:SYD:(A;;CC;;;%s)", offlineSID)
	var out []WFPFilter
	for _, l := range []string{"ALE_AUTH_CONNECT_V4", "ALE_AUTH_CONNECT_V6", "ALE_AUTH_RECV_ACCEPT_V4", "ALE_AUTH_RECV_ACCEPT_V6"} {
		out = append(out, WFPFilter{Name: "sbx: block " + OfflineUserName + " " + l, Layer: l, Action: "BLOCK (hard: action right cleared)", UserSD: sd, Weight: 15})
	}
	return out
}

// residual is what a hostile command can still do in a mode.
func residual(m Mode, deny bool) []string {
	out := []string{
		"create a protected path that does not exist yet only where sbx does not freeze: inside a temporary directory (a .git file's gitdir pointing there); sbx lists such paths after the run",
		"read what its account can read (reads are not restricted)",
		"ask services running outside the sandbox to act for it (COM/RPC servers, e.g. ShellExecute through Explorer, the Task Scheduler)",
		"in a directory with per-directory case sensitivity turned on, create \".GiT\" next to \".git\" (a different name there)",
		"leave files in the writable roots and TEMP that a later, unsandboxed program trusts (build scripts, tool caches, editor settings)",
	}
	if m == ModeUnelevated {
		out = append(out,
			"use the network (the block is advisory: raw sockets, explicit ssh.exe paths and programs that ignore proxy variables get through)",
			"write to network shares (UNC paths, mapped drives): the file server checks the user's own credentials, not the restricted token",
			"read the memory of the user's other processes, and decrypt the user's DPAPI secrets (it is the same user)",
		)
		return out
	}
	if deny {
		out = append(out,
			"resolve host names: the DNS Client service makes the queries, so data can leak through DNS",
			"use services that connect on its behalf under their own identity (BITS, WebClient), which the per-user WFP filters do not see",
		)
	}
	return out
}

// assess fills the strength of every requested element.
func assess(in PlanInput, p core.Policy, f HostFacts, d *Detail, tmpDirs []string) core.Report {
	els := core.Requested(p, tmpDirs)
	protected := map[string][]ProtectedPlan{}
	for _, pp := range d.Protected {
		protected[pp.Name] = append(protected[pp.Name], pp)
	}
	for i := range els {
		e := &els[i]
		switch {
		case e.Boundary == core.BoundaryWrite && e.Requested == core.ReqWritable:
			e.Strength = core.Enforced
			e.Mechanism = "inheritable modify ACE for an sbx SID"
			if missing := frozenBy(e.Subject, d); len(missing) > 0 {
				e.Mechanism = "frozen: list/traverse ACE on the directory itself, inherit-only modify ACE for everything below it"
				e.Note = "new entries cannot be created directly at the top of " + e.Subject + " (existing entries and everything inside them stay writable) while the protected name(s) " + strings.Join(missing, ", ") + " are missing; to unfreeze it, create them once outside the sandbox, or drop them from the protected names (--protect / default_protect)"
			}
		case e.Boundary == core.BoundaryWrite && e.Requested == core.ReqProtected:
			assessProtected(e, protected[e.Subject])
			if in.Mode == ModeUnelevated && e.Note == "" {
				e.Note = unverifiedWriteRestricted
			}
		case e.Boundary == core.BoundaryWrite:
			if in.Mode == ModeUnelevated {
				e.Strength = core.Advisory
				e.Mechanism = "write-restricted token with only sbx SIDs restricting (enforced on local volumes)"
				e.Note = "network shares (UNC paths, mapped drives) are checked by the file server against the user's own credentials, so writes there get through; " + unverifiedWriteRestricted
			} else {
				e.Strength = core.Enforced
				e.Mechanism = "separate sandbox account + write-restricted token with only sbx SIDs restricting"
				e.Note = "locations writable by Everyone or Users stay read-only: the restricting SIDs are sbx's own"
			}
		case e.Boundary == core.BoundaryRead:
			assessRead(e, in.Mode)
		case e.Boundary == core.BoundaryNetwork:
			assessNetwork(e, in.Mode)
		case e.Boundary == core.BoundaryLimits:
			assessLimit(e)
		case e.Boundary == core.BoundaryProcess:
			e.Strength = core.Enforced
			e.Mechanism = "Job object (KILL_ON_JOB_CLOSE, no breakaway), child created suspended and resumed only inside it"
		}
	}
	return core.Report{Backend: in.Backend, Elements: els}
}

// unverifiedWriteRestricted is the open question about write-restricted
// tokens, stated wherever the unelevated mode relies on them.
const unverifiedWriteRestricted = "not verified on Windows by sbx's authors: that the kernel checks DELETE and WRITE_DAC (not only the GENERIC_WRITE bits) against the restricting SIDs; the Windows CI escape tests answer it"

func assessProtected(e *core.Element, pps []ProtectedPlan) {
	e.Strength = core.Enforced
	e.Mechanism = "explicit deny-write ACEs (DELETE included); no FILE_DELETE_CHILD on its directory"
	var missing, frozen []string
	for _, pp := range pps {
		e.Strength = core.Weakest(e.Strength, pp.Strength)
		switch {
		case pp.Strength == core.Absent:
			missing = append(missing, pp.Path)
		case !pp.Exists:
			frozen = append(frozen, pp.Path)
		}
	}
	if len(frozen) > 0 {
		sort.Strings(frozen)
		e.Mechanism = "missing at " + strings.Join(frozen, ", ") + ": the directory it would appear in is frozen (no sbx SID may add, remove or rename entries there)"
		if len(frozen) < len(pps) {
			e.Mechanism = "explicit deny-write ACEs where it exists; " + e.Mechanism
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		e.Mechanism = "deny-write ACEs where it exists; none possible where it does not"
		e.Note = "does not exist yet at " + strings.Join(missing, ", ") + ", in a temporary directory, which sbx does not freeze: Windows ACLs cannot refuse creating one name in a writable directory, so the command could create it (sbx reports it after the run)"
	}
}

// frozenBy lists the missing protected names that freeze the writable root
// root, or nil when it is fully writable.
func frozenBy(root string, d *Detail) []string {
	frozen := false
	for _, a := range d.ACEs {
		if winEqual(a.Path, root) && a.Kind == Allow && a.Inherit == InheritBelow {
			frozen = true
		}
	}
	if !frozen {
		return nil
	}
	var out []string
	for _, pp := range d.Protected {
		if !pp.Exists && pp.Strength == core.Enforced && winEqual(winDir(pp.Path), root) {
			out = append(out, pp.Name)
		}
	}
	if len(out) == 0 {
		// Frozen for a deeper path whose nearest existing parent is
		// the root (a gitdir below a missing directory).
		for _, pp := range d.Protected {
			if !pp.Exists && pp.Strength == core.Enforced && winWithin(pp.Path, root) {
				out = append(out, pp.Path)
			}
		}
	}
	sort.Strings(out)
	return out
}

func assessRead(e *core.Element, m Mode) {
	if e.Unrestricted() {
		e.Strength = core.Enforced
		if m == ModeElevated {
			e.Mechanism = "reads of the sandbox account"
			e.Note = "the sandbox account reads what Users can read plus what setup granted; credential folders (.ssh, .aws, ...) are not readable"
		}
		return
	}
	e.Strength = core.Absent
	if m == ModeUnelevated {
		e.Mechanism = "none"
		e.Note = "the command runs as the real user and can read everything the user can; a write-restricted token does not restrict reads"
		return
	}
	e.Mechanism = "none (partial: separate account)"
	e.Note = "the sandbox account cannot read the user's private profile, but it can read whatever Users can read, not only the listed paths"
}

func assessNetwork(e *core.Element, m Mode) {
	if e.Unrestricted() {
		e.Strength = core.Enforced
		if m == ModeElevated {
			e.Mechanism = "runs as the online sandbox user (no filters)"
		}
		return
	}
	if m == ModeUnelevated {
		e.Strength = core.Advisory
		e.Mechanism = "proxy variables at a dead loopback port, offline package managers, failing GIT_SSH_COMMAND, ssh/scp stubs first on PATH"
		e.Note = "programs that ignore these (raw sockets, explicit paths to ssh.exe, their own HTTP stacks) reach the network; use windows-elevated to enforce"
		return
	}
	e.Strength = core.Enforced
	e.Mechanism = "WFP filters blocking every connect and accept of the offline user, loopback included"
	e.Note = "DNS queries are made by the DNS Client service, not the command, so names still resolve (a DNS side channel remains)"
}

func assessLimit(e *core.Element) {
	e.Strength = core.Enforced
	switch e.Subject {
	case core.SubjectTimeout:
		e.Mechanism = "TerminateJobObject at the deadline"
	case core.SubjectMemory:
		e.Mechanism = "Job JOB_MEMORY limit (committed memory of all processes)"
	case core.SubjectPids:
		e.Mechanism = "Job ACTIVE_PROCESS limit"
		e.Note = "counts processes, not threads"
	case core.SubjectCPU:
		e.Mechanism = "Job CPU rate hard cap"
	default:
		e.Strength = core.Absent
		e.Mechanism = "none"
	}
}

// steps lists the plan for people.
func steps(d *Detail) []core.Step {
	var s []core.Step
	add := func(layer, action, target, value string) {
		s = append(s, core.Step{Layer: layer, Action: action, Target: target, Value: value})
	}
	if d.Selected != "" {
		add("select", "mode", string(d.Mode), d.Selected)
	}
	add("identity", "run as", d.RunAs.Account, d.RunAs.SID)
	add("token", "restrict", d.Token.Source, strings.Join(d.Token.FlagNames, "|"))
	for _, sid := range d.Token.RestrictingSIDs {
		add("token", "restricting SID", sid, "")
	}
	add("token", "deny-only SIDs", strings.Join(d.Token.DenyOnlySIDs, ","), "")
	add("token", "keep privileges", strings.Join(d.Token.Privileges, ","), "all others removed")
	add("token", "default DACL", d.Token.DefaultDACL, "")
	for _, a := range d.ACEs {
		add("acl", string(a.Kind)+" "+a.MaskNames, a.Path, a.SDDL())
	}
	for _, pp := range d.Protected {
		add("acl", "protected ("+string(pp.Strength)+")", pp.Path, pp.How)
	}
	add("desktop", "private desktop", d.Desktop.Name, d.Desktop.SDDL)
	add("job", "limits", strings.Join(d.Job.LimitNames, "|"), fmt.Sprintf("memory=%d processes=%d cpu_rate=%d ui=0x%x timeout_ms=%d",
		d.Job.JobMemoryBytes, d.Job.ActiveProcess, d.Job.CPURate, d.Job.UILimits, d.Job.TimeoutMillis))
	for _, fl := range d.Filters {
		add("wfp", fl.Action, fl.Layer, fl.UserSD)
	}
	for _, k := range slices.Sorted(maps.Keys(d.Env.Set)) {
		add("env", "set", k, d.Env.Set[k])
	}
	if d.Env.DenyBin != "" {
		add("env", "deny-bin stubs", d.Env.DenyBin, strings.Join(slices.Sorted(maps.Keys(d.Env.Stubs)), ","))
	}
	for _, h := range d.Launch.How {
		add("launch", "call", h, "")
	}
	if len(d.Launch.RunnerArgv) > 0 {
		add("launch", "runner argv", strings.Join(d.Launch.RunnerArgv, " "), "")
	}
	for _, r := range d.Residual {
		add("residual", "can still", r, "")
	}
	return s
}
