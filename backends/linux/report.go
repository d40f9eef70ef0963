package linux

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sbxdev/sbx/core"
)

// report assesses every element of core.Requested against the plan.
func (b *builder) report() core.Report {
	in, pl := b.in, b.pl
	p := in.Policy
	ns := pl.Mode == ModeNamespaces
	abi := in.Facts.LandlockABI
	rep := core.Report{Backend: in.Backend}
	tmp := map[string]bool{}
	for _, t := range in.Facts.TmpDirs {
		tmp[t] = true
	}
	roots := map[string]bool{}
	for _, r := range p.WritePaths() {
		roots[r] = true
	}
	// Before ABI 3, Landlock cannot refuse truncate(2): any file the user
	// may write could be emptied.
	truncateGap := !ns && abi < 3
	const truncateNote = "Landlock ABI < 3 cannot refuse truncate(2): files outside the writable roots can be emptied; needs Linux 6.2+"
	for _, el := range core.Requested(p, in.Facts.TmpDirs) {
		el.Strength = core.Enforced
		switch {
		case el.Boundary == core.BoundaryWrite && el.Requested == core.ReqWritable:
			if ns {
				el.Mechanism = "read-write bind mount"
			} else {
				el.Mechanism = "landlock read-write rule"
			}
			if why, ok := b.frozen[el.Subject]; ok && roots[el.Subject] {
				el.Note = "its own entries cannot be created, removed or renamed (the directory is " + why +
					"); everything inside its existing entries is writable"
			}
			if tmp[el.Subject] && !roots[el.Subject] && b.kind(el.Subject) != KindDir {
				el.Note = "does not exist on this host"
			}
		case el.Boundary == core.BoundaryWrite && el.Requested == core.ReqProtected:
			el.Mechanism, el.Note = b.protectedMechanism(el.Subject)
			if el.Note != "" {
				el.Strength = core.Absent
			}
			if truncateGap {
				el.Strength, el.Note = core.Absent, truncateNote
			}
		case el.Boundary == core.BoundaryWrite:
			if ns {
				el.Mechanism = "read-only mounts (also refuses chmod, chown, utimes and xattrs)"
				if !p.WritableTmp {
					el.Note = "/tmp is a private tmpfs, discarded after the run"
				}
			} else {
				el.Mechanism = "landlock: no write right outside the writable roots"
				el.Note = "Landlock does not cover metadata: chmod, chown, utimes and xattrs on files the user owns outside the writable roots still work (linux-namespaces refuses them)"
				if in.Facts.UID == 0 {
					el.Note += "; as root that includes system files owned by root (capabilities are dropped, ownership is not)"
				}
				if truncateGap {
					el.Strength, el.Note = core.Absent, truncateNote
				}
			}
		case el.Boundary == core.BoundaryRead:
			if p.Read.Mode != core.ReadRestricted {
				el.Mechanism = "nothing to restrict"
				if pl.Mode == ModeLandlock {
					el.Mechanism = "landlock read rules on every entry of / but /dev"
					el.Note = "in /dev only " + strings.Join(readableDevices(), " ") + " and the run's own terminal can be read: not the user's other terminals (/dev/pts), input devices or consoles, as in linux-namespaces' own /dev"
				}
				break
			}
			if pl.Landlock != nil && pl.Landlock.HandledFS&FSReadFile != 0 {
				el.Mechanism = "landlock read rules (listed paths, writable roots, " + strings.Join(runtimeReadPaths, " ") + ")"
			} else {
				el.Strength, el.Mechanism = core.Absent, ""
				el.Note = "restricting reads needs Landlock, which this kernel does not offer (" + in.Facts.LandlockNote + ")"
			}
		case el.Boundary == core.BoundaryNetwork:
			b.assessNetwork(&el)
		case el.Boundary == core.BoundaryLimits:
			b.assessLimit(&el)
		case el.Boundary == core.BoundaryProcess:
			b.assessProcess(&el)
		}
		rep.Elements = append(rep.Elements, el)
	}
	return rep
}

// protectedMechanism says how the protected name is held in each root.
func (b *builder) protectedMechanism(name string) (mech, note string) {
	var parts []string
	for _, root := range b.in.Policy.WritePaths() {
		path := filepath.Join(root, name)
		exists := b.kind(path) != KindMissing
		var how string
		switch {
		case b.pl.Mode == ModeNamespaces && exists && b.kind(path) != KindSymlink && b.frozen[root] == "":
			how = "read-only bind mount"
		case b.pl.Mode == ModeNamespaces && exists && b.kind(path) != KindSymlink:
			how = "read-only bind mount; " + root + " read-only"
		case b.pl.Mode == ModeNamespaces:
			how = root + " kept read-only, so it cannot be created"
		case exists:
			how = "no Landlock write right; " + root + " read-only, so it cannot be replaced"
		default:
			how = "no Landlock right to create entries in " + root
		}
		parts = append(parts, path+": "+how)
	}
	var notes []string
	for _, pp := range b.in.Layout.Protected {
		if pp.Name != name {
			continue
		}
		if pp.Via != "" {
			parts = append(parts, pp.Path+" (via "+pp.Via+"): read-only")
		}
		for _, t := range b.writableTmp() {
			if !inside(t, pp.Path) {
				continue
			}
			switch {
			case b.pl.Mode == ModeLandlock:
				// Landlock rules only add up: a protected path below a
				// directory that is writable as a whole cannot be kept
				// read-only.
				notes = append(notes, fmt.Sprintf("%s is inside %s, which the policy makes writable: Landlock cannot keep it read-only there; move the workspace out of %s, set writable_tmp = false, or use linux-namespaces", pp.Path, t, t))
			case (!pp.Exists || b.isSymlink(pp)) && !b.inWritableRoot(pp.Path):
				// Only an existing path can be bound read-only; the
				// entries of a writable root are fixed, but not those of
				// a writable temporary directory.
				notes = append(notes, fmt.Sprintf("%s is missing (or a symlink) inside %s, which the policy makes writable: it could be created there; create it, or set writable_tmp = false", pp.Path, t))
			}
		}
	}
	return strings.Join(parts, "; "), strings.Join(notes, "; ")
}

// inWritableRoot reports whether path is inside one of the writable roots.
func (b *builder) inWritableRoot(path string) bool {
	for _, root := range b.in.Policy.WritePaths() {
		if inside(root, path) {
			return true
		}
	}
	return false
}

func (b *builder) assessNetwork(el *core.Element) {
	pl, f := b.pl, b.in.Facts
	if el.Requested == core.ReqNetworkAllow {
		el.Mechanism = "host network"
		return
	}
	var mech []string
	if pl.Mode == ModeNamespaces {
		mech = append(mech, "network namespace with only loopback")
	}
	if pl.Seccomp != nil {
		mech = append(mech, "seccomp: only AF_UNIX sockets, no io_uring")
	}
	if pl.Landlock != nil && pl.Landlock.HandledNet != 0 {
		mech = append(mech, "landlock: "+pl.Landlock.HandledNet.String()+" denied")
	}
	el.Mechanism = strings.Join(mech, "; ")
	if pl.Mode == ModeNamespaces || pl.Seccomp != nil {
		return
	}
	el.Strength = core.Absent
	el.Note = "seccomp is unavailable (" + f.SeccompNote + ")"
	if pl.Landlock != nil && pl.Landlock.HandledNet != 0 {
		el.Note += "; Landlock alone refuses only TCP bind/connect: UDP, ICMP and other protocols get through"
	} else {
		el.Note += "; nothing refuses network access"
	}
}

func (b *builder) assessLimit(el *core.Element) {
	cg := b.in.Facts.Cgroup
	if el.Subject == core.SubjectTimeout {
		el.Mechanism = "the whole process tree is killed when it expires (exit status 124)"
		return
	}
	ctrl := map[string]string{core.SubjectMemory: "memory", core.SubjectPids: "pids", core.SubjectCPU: "cpu"}[el.Subject]
	if b.pl.Cgroup != nil && cg.Has(ctrl) {
		el.Mechanism = fmt.Sprintf("cgroup v%d %s controller", cg.Version, ctrl)
		return
	}
	el.Strength = core.Absent
	switch {
	case cg.Version == 0:
		el.Note = "no usable cgroup: " + cg.Note
	default:
		el.Note = fmt.Sprintf("the %s controller is not available in the usable cgroup v%d hierarchy", ctrl, cg.Version)
		if cg.Note != "" {
			el.Note += " (" + cg.Note + ")"
		}
	}
}

func (b *builder) assessProcess(el *core.Element) {
	pl := b.pl
	el.Mechanism = pl.ProcessTree
	var notes []string
	if pl.Mode == ModeLandlock {
		if pl.Landlock.Scoped&ScopeSignal == 0 {
			el.Strength = core.Absent
			notes = append(notes, "signals to processes outside the sandbox are not refused (Landlock signal scoping needs ABI 6, Linux 6.12+)")
		} else {
			notes = append(notes, "signals and abstract unix sockets outside the sandbox refused (Landlock scopes)")
		}
	} else {
		notes = append(notes, "processes outside the sandbox are not visible")
	}
	if pl.Seccomp == nil {
		notes = append(notes, "without seccomp, ptrace, io_uring and namespace creation are not filtered ("+b.in.Facts.SeccompNote+"); the new session still prevents TIOCSTI")
	} else {
		notes = append(notes, "seccomp refuses ptrace, process_vm_*, TIOCSTI and TIOCLINUX")
	}
	el.Note = strings.Join(notes, "; ")
}

// Steps renders the plan as readable steps, in the order they apply.
func (pl *Plan) Steps() []core.Step {
	var st []core.Step
	add := func(layer, action, target, value string) {
		st = append(st, core.Step{Layer: layer, Action: action, Target: target, Value: value})
	}
	if pl.Backend == NameAuto {
		add("select", "use mode", "linux-"+string(pl.Mode), pl.Why)
	}
	if pl.Cgroup != nil {
		for _, k := range slices.Sorted(maps.Keys(pl.Cgroup.Parents)) {
			add("cgroup", fmt.Sprintf("create v%d cgroup", pl.Cgroup.Version), pl.Cgroup.Parents[k]+"/sbx-<run>", k)
		}
		for _, w := range pl.Cgroup.Writes {
			add("cgroup", "write", w.File, w.Value)
		}
		add("cgroup", "move in before the command starts", "the helper process", "")
	}
	if len(pl.Namespaces) > 0 {
		add("namespace", "unshare", strings.Join(pl.Namespaces, ","), "")
		if pl.UIDMap != nil {
			add("namespace", "uid map", fmt.Sprintf("%d %d %d", pl.UIDMap.Inside, pl.UIDMap.Outside, pl.UIDMap.Count), "")
			v := ""
			if pl.GIDMap.Count == 1 {
				v = "setgroups denied (unprivileged)"
			}
			add("namespace", "gid map", fmt.Sprintf("%d %d %d", pl.GIDMap.Inside, pl.GIDMap.Outside, pl.GIDMap.Count), v)
		}
	}
	for _, m := range pl.Mounts {
		v := m.Source
		if m.Options != "" {
			v = strings.TrimSpace(v + " " + m.Options)
		}
		add("mount", m.Op, m.Target, v)
	}
	if pl.Loopback {
		add("network", "bring up", "lo", "the only interface")
	}
	if pl.DropCapabilities {
		add("process", "drop capabilities", "bounding, ambient, inheritable", "all")
	}
	add("process", "set", "no_new_privs", "1")
	if ll := pl.Landlock; ll != nil {
		add("landlock", fmt.Sprintf("handle (ABI %d)", ll.ABI), "fs", ll.HandledFS.String())
		if ll.HandledNet != 0 {
			add("landlock", "handle", "net", ll.HandledNet.String()+" (no port allowed)")
		}
		if ll.Scoped != 0 {
			add("landlock", "scope", "ipc", ll.Scoped.String())
		}
		for _, r := range ll.Rules {
			add("landlock", "allow "+r.Access.String(), r.Path, r.Why)
		}
		if ll.Terminal != 0 {
			add("landlock", "allow "+ll.Terminal.String(), "the run's own terminal (stdin/stdout/stderr, when a terminal)", "granted on the open file, not on /dev/pts")
		}
	}
	if sp := pl.Seccomp; sp != nil {
		add("seccomp", "default", "all syscalls", sp.DefaultAction+"; other architectures: "+sp.BadArch)
		for _, r := range sp.Rules {
			v := "errno " + r.Errno
			if r.Arg != nil {
				v = "when " + r.Arg.String() + ": " + v
			}
			add("seccomp", "deny", r.Syscall, v)
		}
	}
	if pl.NewSession {
		add("process", "new session", "setsid", "no controlling terminal unless a pty is requested")
	}
	if !pl.Env.Inherit {
		add("env", "start empty", "", "")
	}
	for _, k := range pl.Env.Unset {
		add("env", "unset", k, "")
	}
	for _, k := range slices.Sorted(maps.Keys(pl.Env.Set)) {
		add("env", "set", k, pl.Env.Set[k])
	}
	if pl.Timeout > 0 {
		add("process", "timeout", pl.Timeout.String(), "kill the whole tree, exit 124")
	}
	add("process", "kill tree", "", pl.ProcessTree)
	return st
}

// CorePlan wraps the typed plan into a core.Plan.
func (pl *Plan) CorePlan(rep core.Report) (*core.Plan, error) {
	detail, err := json.Marshal(pl)
	if err != nil {
		return nil, fmt.Errorf("linux plan: %w", err)
	}
	return &core.Plan{Backend: pl.Backend, Report: rep, Steps: pl.Steps(), Detail: detail}, nil
}
