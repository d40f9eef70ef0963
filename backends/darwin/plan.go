package darwin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sbxdev/sbx/core"
)

// SandboxExec is the program that applies a Seatbelt profile and executes a
// command under it. sbx runs it by absolute path, never through PATH.
const SandboxExec = "/usr/bin/sandbox-exec"

// Options are darwin-backend settings that are not part of the policy.
type Options struct {
	// LoopbackProxyPort, when non-zero and the policy denies the network,
	// lets the command open TCP connections to localhost:PORT and nothing
	// else. It is the hook for a future host allow-list enforced by a
	// local proxy (core.NetworkPolicy.AllowHosts); sbx does not set it yet.
	LoopbackProxyPort int `json:"loopback_proxy_port,omitempty"`
}

// Detail is the darwin backend's plan as data: the content of
// core.Plan.Detail.
type Detail struct {
	// SandboxExec is the program the command runs under.
	SandboxExec string `json:"sandbox_exec"`
	// Profile is the generated profile and its parameters.
	Profile *Profile `json:"profile"`
	// TempDirs are the resolved temporary directories made writable.
	TempDirs []string `json:"temp_dirs,omitempty"`
	// Options are the backend options the plan was made with.
	Options Options `json:"options"`
	// Limits are the limits applied outside Seatbelt.
	Limits DetailLimits `json:"limits"`
}

// DetailLimits are the limits the darwin backend applies itself.
type DetailLimits struct {
	// TimeoutSeconds: the process group is killed after this long.
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty"`
	// ExtraProcesses: RLIMIT_NPROC (hard and soft) is set, by a re-exec'd
	// helper, to the user's process count at start plus this many.
	ExtraProcesses int64 `json:"extra_processes,omitempty"`
}

// BuildPlan turns a policy into the darwin backend's plan: the Seatbelt
// profile with its parameters, the report of what is enforced, and the
// steps for people to read. It is pure: everything it knows about the Mac
// comes from h, so it runs (and is tested) on any OS.
func BuildPlan(name string, p core.Policy, h Host, o Options) (*core.Plan, *Profile, error) {
	// The policy is for a Mac: absolute means starting with "/", whatever
	// OS plans it.
	if err := p.Validate(func(s string) bool { return strings.HasPrefix(s, "/") }, nil); err != nil {
		return nil, nil, err
	}
	if err := checkNUL(p); err != nil {
		return nil, nil, err
	}
	r, err := resolvePolicy(p, h, o)
	if err != nil {
		return nil, nil, err
	}
	prof := generate(r)

	var tmp []string
	for _, g := range r.grants {
		if g.temp {
			tmp = append(tmp, g.path)
		}
	}
	detail := Detail{
		SandboxExec: SandboxExec,
		Profile:     prof,
		TempDirs:    tmp,
		Options:     o,
		Limits: DetailLimits{
			TimeoutSeconds: p.Limits.Timeout.Seconds(),
			ExtraProcesses: p.Limits.Pids,
		},
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return nil, nil, fmt.Errorf("darwin: encode plan detail: %w", err)
	}
	plan := &core.Plan{
		Backend: name,
		Report:  core.Report{Backend: name, Elements: assess(p, r, tmp, h)},
		Steps:   steps(p, r, prof),
		Detail:  raw,
	}
	return plan, prof, nil
}

// checkNUL refuses a policy with a NUL byte in a path: it cannot be passed
// as a parameter, and cutting it short would name another path.
func checkNUL(p core.Policy) error {
	var paths []string
	paths = append(paths, p.Workspace)
	paths = append(paths, p.WritableRoots...)
	paths = append(paths, p.Read.Paths...)
	for _, path := range paths {
		if strings.ContainsRune(path, 0) {
			return &core.PolicyError{Problems: []core.Problem{{Field: "path", Value: path, Reason: "must not contain NUL"}}}
		}
	}
	return nil
}

// Mechanism words of the report.
const (
	mechSeatbelt  = "Seatbelt profile via sandbox-exec"
	mechProtected = "Seatbelt: require-not literal/subpath of the resolved path + regex of the name in every letter case"
)

// assess fills in the strength of every element core.Requested lists.
func assess(p core.Policy, r *resolved, tmpDirs []string, h Host) []core.Element {
	els := core.Requested(p, tmpDirs)
	for i := range els {
		e := &els[i]
		switch e.Boundary {
		case core.BoundaryWrite:
			e.Strength, e.Mechanism = core.Enforced, mechSeatbelt+" (deny default; file-write* only beneath writable directories)"
			if e.Requested == core.ReqProtected {
				e.Mechanism = mechProtected
				if !isASCII(e.Subject) {
					e.Strength = core.Advisory
					e.Note = "the name has non-ASCII characters: only its exact bytes are refused; on a case- or normalization-insensitive volume another spelling of it can still be created"
				}
			}
		case core.BoundaryRead:
			e.Strength, e.Mechanism = core.Enforced, mechSeatbelt
			if e.Requested == core.ReqReadListed {
				e.Mechanism = mechSeatbelt + " (file-read* allow-list; macOS runtime paths such as /System, /usr, /Library/Developer and /opt/homebrew stay readable)"
			}
		case core.BoundaryNetwork:
			e.Strength, e.Mechanism = core.Enforced, mechSeatbelt
			if e.Requested == core.ReqNetworkDeny {
				e.Mechanism = mechSeatbelt + " (no network rule: outbound, inbound and bind denied, loopback and Unix sockets by path included)"
				if r.proxyPort > 0 {
					e.Mechanism = mechSeatbelt + " (only TCP to localhost:" + strconv.Itoa(r.proxyPort) + ", the loopback proxy)"
				}
			}
		case core.BoundaryLimits:
			assessLimit(e, h)
		case core.BoundaryProcess:
			e.Strength = core.Advisory
			e.Mechanism = "SIGKILL to the process group and to every live descendant (kern.proc.all)"
			e.Note = "macOS has no subreaper or cgroup: a process that leaves the process group and is orphaned (setsid + double fork, reparented to launchd) outlives the run; it stays inside the Seatbelt sandbox"
		}
	}
	return els
}

// assessLimit fills in one limit element.
func assessLimit(e *core.Element, h Host) {
	switch e.Subject {
	case core.SubjectTimeout:
		e.Strength, e.Mechanism = core.Enforced, "sbx kills the process tree when the time is up"
	case core.SubjectMemory:
		e.Strength = core.Absent
		e.Note = "macOS has no per-tree memory limit available to a user: setrlimit(RLIMIT_AS) is rejected (EINVAL) below the address space already mapped since macOS 12 and was never enforced before; nothing is set"
	case core.SubjectPids:
		if h.UID == 0 {
			e.Strength = core.Absent
			e.Note = "RLIMIT_NPROC does not bind root; nothing limits the process count"
			return
		}
		e.Strength = core.Advisory
		e.Mechanism = "RLIMIT_NPROC (hard) = the user's process count at start + the limit"
		e.Note = "approximate: RLIMIT_NPROC counts every process of the user, not the tree, so other processes of the user starting or ending shift it; threads are not counted"
	case core.SubjectCPU:
		e.Strength = core.Absent
		e.Note = "macOS offers no CPU-share limit to a user (RLIMIT_CPU is CPU time, not cores); nothing is set"
	default:
		e.Strength = core.Absent
	}
}

// steps describes the plan for people, in order.
func steps(p core.Policy, r *resolved, prof *Profile) []core.Step {
	var out []core.Step
	add := func(layer, action, target, value string) {
		out = append(out, core.Step{Layer: layer, Action: action, Target: target, Value: value})
	}
	add("sbpl", "deny by default", "everything not allowed below", "")
	for _, g := range r.grants {
		if g.temp {
			add("sbpl", "allow write (temporary directory)", g.path, g.param)
		} else {
			add("sbpl", "allow write", g.path, g.param)
		}
	}
	for _, pp := range r.protPaths {
		add("sbpl", "deny write (protected path)", pp.path, pp.param)
	}
	for _, path := range r.protOutside {
		add("sbpl", "no rule needed (protected path outside the writable directories)", path, "")
	}
	for _, n := range r.protNames {
		add("sbpl", "deny write (protected name, any spelling)", strings.TrimRight(n.root, "/")+"/"+n.name, n.param+" = "+n.regex)
	}
	if r.readRestricted {
		for _, g := range r.readable {
			add("sbpl", "allow read", g.path, g.param)
		}
		add("sbpl", "allow read", "macOS runtime paths", strings.Join(runtimeReadPaths, " "))
	} else {
		add("sbpl", "allow read", "everything", "")
	}
	switch {
	case r.network == core.NetworkAllow:
		add("sbpl", "allow network", "all", "")
	case r.proxyPort > 0:
		add("sbpl", "allow network to loopback proxy only", "localhost:"+strconv.Itoa(r.proxyPort), "")
	default:
		add("sbpl", "deny network", "all, loopback included", "")
	}
	if p.Limits.Pids > 0 {
		add("rlimit", "set RLIMIT_NPROC (re-exec'd helper)", "user's process count + limit", strconv.FormatInt(p.Limits.Pids, 10))
	}
	if p.Limits.Timeout > 0 {
		add("proc", "kill process tree after", "", p.Limits.Timeout.String())
	}
	add("proc", "new session", "setsid; process group killed with the run", "")
	var cmd strings.Builder
	cmd.WriteString(SandboxExec + " -p PROFILE")
	for _, prm := range prof.Params {
		cmd.WriteString(" -D " + shellQuote(prm.Name+"="+prm.Value))
	}
	cmd.WriteString(" -- COMMAND...")
	add("exec", "run", SandboxExec, cmd.String())
	add("sbpl", "profile", "", prof.Text)
	return out
}

// shellQuote quotes s for a POSIX shell, so that the command line in the
// plan's steps can be pasted into a terminal: as is when it has only
// harmless characters, else in single quotes ('\” for a quote).
func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_/.,:=+@%-", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
