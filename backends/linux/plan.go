package linux

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sbxdev/sbx/backends/linux/sandbox"
	"github.com/sbxdev/sbx/core"
)

// Mode is how a run is confined.
type Mode string

const (
	// ModeLandlock: Landlock + seccomp, no namespaces.
	ModeLandlock Mode = "landlock"
	// ModeNamespaces: user, mount, pid, net, ipc and uts namespaces +
	// seccomp (+ Landlock for restricted reads).
	ModeNamespaces Mode = "namespaces"
)

// Backend names served by the plugin.
const (
	NameLandlock   = "linux-landlock"
	NameNamespaces = "linux-namespaces"
	NameAuto       = "linux"
)

// Kind is the type of a file system entry as the plan sees it.
type Kind string

// Kinds of entries. The empty Kind means the path does not exist.
const (
	KindMissing Kind = ""
	KindDir     Kind = "dir"
	KindFile    Kind = "file"
	KindSymlink Kind = "symlink"
	KindOther   Kind = "other"
)

// Entry is one entry of a directory listing.
type Entry struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
}

// Layout is the part of the file system a plan depends on, gathered
// beforehand so that [BuildPlan] stays pure.
type Layout struct {
	// Protected are the protected paths (core.ResolveProtected, plus the
	// targets of protected names that are symlinks).
	Protected []core.ProtectedPath `json:"protected"`
	// Dirs lists the entries of each directory the plan must carve
	// (every directory from a writable root down to the parent of a
	// protected path inside it); see [DirsToList].
	Dirs map[string][]Entry `json:"dirs,omitempty"`
	// Kinds gives the kind of every other path the plan looks at (temporary
	// directories, device nodes, runtime paths, read paths); see
	// [PathsToCheck], and every protected path. A path absent from the map
	// is treated as missing.
	Kinds map[string]Kind `json:"kinds,omitempty"`
}

// Input is everything [BuildPlan] depends on.
type Input struct {
	// Backend is the backend name the plan is for (linux, linux-landlock,
	// linux-namespaces).
	Backend string
	// Mode is the confinement to plan.
	Mode Mode
	// Why says why Mode was chosen (for the linux backend).
	Why string
	// Policy is the validated policy.
	Policy core.Policy
	// Facts are the host facts.
	Facts Facts
	// Layout is the file system the plan depends on.
	Layout Layout
}

// Plan is the typed plan of one run: what the helper applies, in order.
// It is also the Detail of the core.Plan (as JSON).
type Plan struct {
	Backend string `json:"backend"`
	Mode    Mode   `json:"mode"`
	// Why says why this mode was chosen, for the linux backend.
	Why string `json:"why,omitempty"`
	// Namespaces are the namespaces the command runs in (namespaces mode).
	Namespaces []string `json:"namespaces,omitempty"`
	// UIDMap and GIDMap are the user namespace's id maps.
	UIDMap *IDMap `json:"uid_map,omitempty"`
	GIDMap *IDMap `json:"gid_map,omitempty"`
	// Mounts are applied in order, with targets as seen by the command.
	Mounts []Mount `json:"mounts,omitempty"`
	// Loopback is true when the new network namespace gets "lo" up.
	Loopback bool `json:"loopback,omitempty"`
	// Landlock is the Landlock ruleset, nil when none is applied.
	Landlock *LandlockPlan `json:"landlock,omitempty"`
	// Seccomp is the seccomp filter, nil when none can be loaded.
	Seccomp *SeccompPlan `json:"seccomp,omitempty"`
	// DropCapabilities is true when every capability is dropped before the
	// command runs (bounding, ambient and inheritable sets).
	DropCapabilities bool `json:"drop_capabilities"`
	// NoNewPrivs is always true: setuid binaries cannot regain privileges.
	NoNewPrivs bool `json:"no_new_privs"`
	// NewSession: the command runs in a new session (no controlling
	// terminal unless a pty is requested), which defeats TIOCSTI.
	NewSession bool `json:"new_session"`
	// Cgroup holds the limits, nil when the policy sets none or none can
	// be applied.
	Cgroup *CgroupPlan `json:"cgroup,omitempty"`
	// Timeout kills the whole tree when it expires (0: none).
	Timeout time.Duration `json:"timeout,omitempty"`
	// ProcessTree says how the whole tree is killed.
	ProcessTree string `json:"process_tree"`
	// Env lists what the policy does to the environment.
	Env core.EnvPolicy `json:"env"`
	// Dir is the default working directory (the workspace).
	Dir string `json:"dir"`
}

// IDMap is one line of a user namespace id map.
type IDMap struct {
	Inside  int    `json:"inside"`
	Outside int    `json:"outside"`
	Count   uint32 `json:"count"`
}

// Mount operations (the helper's, see package sandbox).
const (
	MountPrivate   = sandbox.MountPrivate   // no propagation either way (a host mount appearing later stays out)
	MountRootRO    = sandbox.MountRootRO    // the host's / recursively, read-only
	MountBindRW    = sandbox.MountBindRW    // Source on Target, writable
	MountBindRO    = sandbox.MountBindRO    // Source on Target, read-only
	MountTmpfs     = sandbox.MountTmpfs     // a new private tmpfs
	MountProc      = sandbox.MountProc      // a new proc for the pid namespace
	MountDevNode   = sandbox.MountDevNode   // a host device node
	MountDevpts    = sandbox.MountDevpts    // a new devpts instance
	MountSymlink   = sandbox.MountSymlink   // Target -> Source, in a tmpfs
	MountPivotRoot = sandbox.MountPivotRoot // switch to the new root
	MountReadOnly  = sandbox.MountReadOnly  // a path of the new root bound on itself read-only
	MountConsole   = sandbox.MountConsole   // the run's terminal (when it has one) bound at Target
	ptmxTarget     = "pts/ptmx"             // /dev/ptmx points into the new devpts
	devptsOptions  = "newinstance,ptmxmode=0666,mode=0620,nosuid,noexec"
)

// Mount is one mount step. Targets are paths inside the sandbox.
type Mount struct {
	Op     string `json:"op"`
	Source string `json:"source,omitempty"`
	Target string `json:"target"`
	// Options are the mount's options, comma-separated: the flags nosuid,
	// nodev and noexec, and the file system's own (tmpfs mode, devpts
	// newinstance...).
	Options string `json:"options,omitempty"`
	// Why explains the step.
	Why string `json:"why,omitempty"`
}

// LandlockPlan is a Landlock ruleset.
type LandlockPlan struct {
	// ABI is the Landlock ABI the ruleset is built for; the helper
	// refuses to run on a kernel with a lower one.
	ABI int `json:"abi"`
	// HandledFS, HandledNet and Scoped are what the ruleset restricts:
	// everything in them is denied unless a rule grants it.
	HandledFS  AccessFS  `json:"handled_fs"`
	HandledNet AccessNet `json:"handled_net"`
	Scoped     Scope     `json:"scoped"`
	// Rules grant access beneath paths.
	Rules []LandlockRule `json:"rules"`
	// Terminal is granted on the run's own terminal, when its standard
	// input, output or error is one (a pty slave for --tty runs): the
	// helper adds a rule on that open file itself, so other terminals
	// under /dev/pts stay out of reach.
	Terminal AccessFS `json:"terminal,omitempty"`
}

// LandlockRule grants Access beneath Path (on Path itself for a file).
type LandlockRule struct {
	Path   string   `json:"path"`
	Kind   Kind     `json:"kind"`
	Access AccessFS `json:"access"`
	Why    string   `json:"why,omitempty"`
}

// SeccompPlan is a seccomp filter: every syscall is allowed except the
// rules, which fail with an errno.
type SeccompPlan struct {
	// DefaultAction is "allow".
	DefaultAction string `json:"default_action"`
	// BadArch is what happens to a syscall of another architecture
	// (32-bit x86 on x86_64, say): the process is killed, so the filter
	// cannot be sidestepped through another syscall table.
	BadArch string        `json:"bad_arch_action"`
	Rules   []SeccompRule `json:"rules"`
}

// SeccompRule denies one syscall, optionally only when an argument
// matches.
type SeccompRule struct {
	Syscall string `json:"syscall"`
	// Errno is returned to the caller ("EPERM", "ENOSYS", "EAFNOSUPPORT").
	Errno string `json:"errno"`
	// Arg, when set, restricts the rule to calls whose argument matches.
	Arg *ArgCond `json:"arg,omitempty"`
	Why string   `json:"why,omitempty"`
}

// ArgCond compares one syscall argument.
type ArgCond struct {
	// Index is the argument number (0-based).
	Index uint `json:"index"`
	// Op is "ne" (argument != Value) or "masked_eq"
	// ((argument & Mask) == Value).
	Op    string `json:"op"`
	Value uint64 `json:"value"`
	Mask  uint64 `json:"mask,omitempty"`
}

// String renders the condition as the plan prints it ("arg0 != 0x1").
func (a *ArgCond) String() string {
	switch a.Op {
	case "ne":
		return fmt.Sprintf("arg%d != %#x", a.Index, a.Value)
	default:
		return fmt.Sprintf("arg%d & %#x == %#x", a.Index, a.Mask, a.Value)
	}
}

// CgroupPlan is the cgroup a run is put in and the values written to it.
// Limits is what the run applies, through containerd/cgroups (cgroup2
// Resources on v2, the memory, pids and cpu subsystems of cgroup1 on
// v1); Writes is the list of files and values those give, derived from
// the same Resources, so the plan says exactly what is written.
type CgroupPlan struct {
	// Version is 1 or 2.
	Version int `json:"version"`
	// Parents maps a controller (or "unified") to the parent directory of
	// the run's cgroup; the run cgroup is a new child named per run.
	Parents map[string]string `json:"parents"`
	// Limits are the values to apply.
	Limits CgroupLimits `json:"limits"`
	// Writes are the files written, in order, relative to the run's
	// cgroup in the controller's hierarchy.
	Writes []CgroupWrite `json:"writes"`
}

// CgroupLimits are the limits of one run, in cgroup units. A zero value
// leaves that controller alone.
type CgroupLimits struct {
	// MemoryBytes caps the run's memory.
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// NoSwap also caps swap, so the memory limit cannot be dodged by
	// swapping (v2 memory.swap.max = 0, v1 memory.memsw = MemoryBytes);
	// set when the host accounts swap.
	NoSwap bool `json:"no_swap,omitempty"`
	// Pids caps the number of processes and threads.
	Pids int64 `json:"pids,omitempty"`
	// CPUQuotaUS of CPU time per CPUPeriodUS.
	CPUQuotaUS  int64  `json:"cpu_quota_us,omitempty"`
	CPUPeriodUS uint64 `json:"cpu_period_us,omitempty"`
}

// CgroupWrite is one value written into a cgroup file.
type CgroupWrite struct {
	Controller string `json:"controller"`
	File       string `json:"file"`
	Value      string `json:"value"`
}

// Paths programs need to run, readable when reads are restricted.
var runtimeReadPaths = []string{
	"/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt",
	"/proc", "/sys", "/dev",
}

// Parts of a new /proc that are re-bound read-only (namespaces mode),
// skipped when absent.
var procReadOnly = []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/proc/acpi"}

// Device nodes a confined command may open read-write (Landlock mode);
// namespaces mode binds the same ones into its minimal /dev.
var deviceNodes = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

// Terminal paths (Landlock mode): /dev/ptmx, and /dev/pts, which is
// only listed (the run's own terminal is granted through its open file,
// see LandlockPlan.Terminal).
var terminalPaths = []string{"/dev/ptmx", "/dev/pts"}

// Other /dev entries a Landlock-mode command may read (with deviceNodes
// and /dev/ptmx, what namespaces mode's own /dev offers). The rest of
// /dev is not readable even when the policy reads everything: the user's
// other terminals under /dev/pts above all, where a reader takes what is
// typed (a sudo password in another window), but also input devices and
// virtual consoles. Landlock grants by hierarchy, so reading "everything
// else" is a rule on each entry of / but /dev.
var readableDev = []string{"/dev/shm", "/dev/mqueue", "/dev/hugepages"}

// readableDevices is every /dev path a Landlock-mode command may read:
// deviceNodes, /dev/ptmx and readableDev.
func readableDevices() []string {
	return slices.Concat(deviceNodes, []string{"/dev/ptmx"}, readableDev)
}

// clone/unshare flags that create namespaces.
var namespaceFlags = []struct {
	Name string
	Flag uint64
}{
	{"CLONE_NEWNS", 0x00020000}, {"CLONE_NEWCGROUP", 0x02000000}, {"CLONE_NEWUTS", 0x04000000},
	{"CLONE_NEWIPC", 0x08000000}, {"CLONE_NEWUSER", 0x10000000}, {"CLONE_NEWPID", 0x20000000},
	{"CLONE_NEWNET", 0x40000000}, {"CLONE_NEWTIME", 0x00000080},
}

// Terminal ioctls.
const (
	ioctlTIOCSTI   = 0x5412
	ioctlTIOCLINUX = 0x541C
	afUnix         = 1
)

// DirsToList returns the directories whose entries [BuildPlan] needs for
// p and the protected paths: for every protected path strictly inside a
// writable root, each directory from the root down to its parent.
func DirsToList(p core.Policy, protected []core.ProtectedPath) []string {
	seen := map[string]bool{}
	var out []string
	for _, root := range p.WritePaths() {
		for _, pp := range protected {
			if !inside(root, pp.Path) {
				continue
			}
			for d := filepath.Dir(pp.Path); ; d = filepath.Dir(d) {
				if !seen[d] {
					seen[d] = true
					out = append(out, d)
				}
				if d == root || d == "/" {
					break
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// PathsToCheck returns the paths whose kind [BuildPlan] needs. The
// runtime read paths are only looked at by the read rules, so they are
// checked (like the listed read paths) only when reads are restricted,
// not on every run.
func PathsToCheck(p core.Policy, f Facts) []string {
	var out []string
	out = append(out, f.TmpDirs...)
	out = append(out, deviceNodes...)
	out = append(out, terminalPaths...)
	out = append(out, readableDev...)
	out = append(out, p.WritePaths()...)
	if p.Read.Mode == core.ReadRestricted {
		out = append(out, runtimeReadPaths...)
		out = append(out, p.Read.Paths...)
	}
	return out
}

// inside reports whether path is strictly inside dir.
func inside(dir, path string) bool {
	if dir == "/" {
		return path != "/" && strings.HasPrefix(path, "/")
	}
	return strings.HasPrefix(path, dir+"/")
}

// within reports whether path is dir or inside it.
func within(dir, path string) bool { return path == dir || inside(dir, path) }

// ErrPlan is wrapped by errors of [BuildPlan] about the layout (a listing
// missing, a mode that cannot run).
var ErrPlan = errors.New("linux plan")

// BuildPlan turns a policy and the host's facts into a typed plan and the
// report of what it enforces. It is pure: the same input gives the same
// plan, and it touches nothing.
func BuildPlan(in Input) (*Plan, core.Report, error) {
	p := in.Policy
	pl := &Plan{
		Backend:    in.Backend,
		Mode:       in.Mode,
		Why:        in.Why,
		NoNewPrivs: true,
		NewSession: true,
		Timeout:    p.Limits.Timeout,
		Env:        p.Env,
		Dir:        p.Workspace,
	}
	b := &builder{in: in, pl: pl}
	switch in.Mode {
	case ModeLandlock:
		if err := b.landlockMode(); err != nil {
			return nil, core.Report{}, err
		}
	case ModeNamespaces:
		if err := b.namespacesMode(); err != nil {
			return nil, core.Report{}, err
		}
	default:
		return nil, core.Report{}, fmt.Errorf("%w: unknown mode %q", ErrPlan, in.Mode)
	}
	b.seccomp()
	b.cgroup()
	return pl, b.report(), nil
}

type builder struct {
	in Input
	pl *Plan
	// frozen lists, per writable root, why its directory (and any
	// directory on the way to a protected path) cannot get new entries.
	frozen map[string]string
}

func (b *builder) kind(path string) Kind { return b.in.Layout.Kinds[path] }

// protectedIn returns the protected paths strictly inside root.
func (b *builder) protectedIn(root string) []core.ProtectedPath {
	var out []core.ProtectedPath
	for _, pp := range b.in.Layout.Protected {
		if inside(root, pp.Path) {
			out = append(out, pp)
		}
	}
	return out
}

// writableTmp returns the temporary directories that exist and are made
// writable by the policy.
func (b *builder) writableTmp() []string {
	if !b.in.Policy.WritableTmp {
		return nil
	}
	var out []string
	for _, t := range b.in.Facts.TmpDirs {
		if b.kind(t) == KindDir {
			out = append(out, t)
		}
	}
	return out
}

// carve lists, for a writable root whose protected paths must stay
// read-only, the entries that can be granted write access: every entry of
// every directory on the way to a protected path, except the protected
// paths and those directories themselves ("frozen": nothing can be
// created, removed or renamed directly in them). grant is called for each
// writable entry.
func (b *builder) carve(root string, targets []core.ProtectedPath, grant func(path string, k Kind)) error {
	protected := map[string]bool{}
	onPath := map[string]bool{} // directories that contain a protected path
	for _, t := range targets {
		protected[t.Path] = true
		for d := filepath.Dir(t.Path); within(root, d); d = filepath.Dir(d) {
			onPath[d] = true
			if d == root {
				break
			}
		}
	}
	dirs := make([]string, 0, len(onPath))
	for d := range onPath {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		entries, ok := b.in.Layout.Dirs[d]
		if !ok {
			return fmt.Errorf("%w: directory %s was not listed; cannot keep its protected entries read-only", ErrPlan, d)
		}
		for _, e := range entries {
			path := filepath.Join(d, e.Name)
			if protected[path] || onPath[path] {
				continue
			}
			grant(path, e.Kind)
		}
	}
	return nil
}

// readAllButDev adds the Landlock rules that let a command read every
// file but those of /dev outside readableDev (the device nodes and
// /dev/ptmx have rules of their own): a rule on each entry of / but /dev.
// Symbolic links and special files at the top get none (a rule on a link
// would apply to its target, which lies under another entry anyway).
func (b *builder) readAllButDev(ll *LandlockPlan) error {
	top, listed := b.in.Layout.Dirs["/"]
	if !listed {
		return fmt.Errorf("%w: no listing of /: its entries get the read rules (without them nothing could be read)", ErrPlan)
	}
	r := FSReadFile & ll.HandledFS
	for _, e := range top {
		path := "/" + e.Name
		switch {
		case path == "/dev":
		case e.Kind == KindDir:
			ll.Rules = append(ll.Rules, LandlockRule{Path: path, Kind: KindDir, Access: r, Why: "readable (reads are not restricted)"})
		case e.Kind == KindFile:
			ll.Rules = append(ll.Rules, LandlockRule{Path: path, Kind: KindFile, Access: r, Why: "readable (reads are not restricted)"})
		}
	}
	for _, d := range readableDev {
		if b.kind(d) == KindDir {
			ll.Rules = append(ll.Rules, LandlockRule{Path: d, Kind: KindDir, Access: r, Why: "readable part of /dev (not the other terminals under /dev/pts, input devices or consoles)"})
		}
	}
	return nil
}

// readRules adds the Landlock rules of restricted reads. In Landlock mode
// /dev is read only where readAllButDev would allow it; in namespaces mode
// /dev is the sandbox's own, and readable.
func (b *builder) readRules(ll *LandlockPlan) {
	p := b.in.Policy
	add := func(path, why string) {
		switch b.kind(path) {
		case KindDir:
			ll.Rules = append(ll.Rules, LandlockRule{Path: path, Kind: KindDir, Access: fsRead & ll.HandledFS, Why: why})
		case KindFile, KindOther:
			ll.Rules = append(ll.Rules, LandlockRule{Path: path, Kind: KindFile, Access: fsRead & fsFileOnly & ll.HandledFS, Why: why})
		}
	}
	for _, r := range runtimeReadPaths {
		if r == "/dev" && b.pl.Mode == ModeLandlock {
			for _, d := range readableDev {
				add(d, "needed to run programs")
			}
			continue
		}
		add(r, "needed to run programs")
	}
	for _, r := range p.Read.Paths {
		add(filepath.Clean(r), "listed in read.paths")
	}
	for _, r := range p.WritePaths() {
		add(r, "writable root")
	}
	for _, t := range b.writableTmp() {
		add(t, "temporary directory")
	}
}

// landlockMode plans Landlock + seccomp.
func (b *builder) landlockMode() error {
	in, p := b.in, b.in.Policy
	abi := in.Facts.LandlockABI
	if abi < 1 {
		return fmt.Errorf("%w: %s needs Landlock, which this kernel does not offer (%s)", core.ErrUnavailable, NameLandlock, in.Facts.LandlockNote)
	}
	ll := &LandlockPlan{ABI: abi}
	// Connecting to pathname unix sockets (ABI 9) is left alone: unix
	// sockets are local IPC in sbx's policy, as in linux-namespaces.
	ll.HandledFS = SupportedFS(abi) &^ FSResolveUnix
	if p.Read.Mode != core.ReadRestricted {
		// Reads are free but for /dev (readableDev): read_file is
		// handled, listing and executing are not.
		ll.HandledFS &^= fsRead &^ FSReadFile
	}
	if p.Network.Mode == core.NetworkDeny {
		ll.HandledNet = SupportedNet(abi)
	}
	ll.Scoped = SupportedScope(abi)
	b.pl.Landlock = ll
	b.frozen = map[string]string{}

	dirRW := (fsRead | fsFileWrite | fsDirWrite) & ll.HandledFS
	fileRW := (fsRead | fsFileWrite) & fsFileOnly & ll.HandledFS
	grant := func(path string, k Kind, why string) {
		switch k {
		case KindDir:
			ll.Rules = append(ll.Rules, LandlockRule{Path: path, Kind: KindDir, Access: dirRW, Why: why})
		case KindFile:
			ll.Rules = append(ll.Rules, LandlockRule{Path: path, Kind: KindFile, Access: fileRW, Why: why})
		}
		// Symlinks and special files get no rule: a rule on a symlink
		// would apply to its target.
	}
	if p.Read.Mode == core.ReadRestricted {
		b.readRules(ll)
	} else if err := b.readAllButDev(ll); err != nil {
		return err
	}
	for _, root := range p.WritePaths() {
		targets := b.protectedIn(root)
		if len(targets) == 0 {
			grant(root, b.kind(root), "writable root")
			continue
		}
		b.frozen[root] = "read-only so that protected names in it cannot be created, removed or renamed"
		err := b.carve(root, targets, func(path string, k Kind) {
			grant(path, k, "entry of writable root "+root)
		})
		if err != nil {
			return err
		}
	}
	for _, t := range b.writableTmp() {
		grant(t, KindDir, "temporary directory")
	}
	devRW := (FSReadFile | FSWriteFile | FSTruncate | FSIoctlDev) & ll.HandledFS
	for _, d := range deviceNodes {
		if k := b.kind(d); k == KindOther || k == KindFile {
			ll.Rules = append(ll.Rules, LandlockRule{Path: d, Kind: KindFile, Access: devRW, Why: "device the command may open read-write"})
		}
	}
	for _, d := range terminalPaths {
		switch b.kind(d) {
		case KindDir:
			// Listing only: other terminals of the same user (ssh
			// sessions, terminal windows) cannot be opened for writing.
			if r := FSReadDir & ll.HandledFS; r != 0 {
				ll.Rules = append(ll.Rules, LandlockRule{Path: d, Kind: KindDir, Access: r, Why: "terminals: listed only; not opened"})
			}
		case KindOther, KindFile:
			ll.Rules = append(ll.Rules, LandlockRule{Path: d, Kind: KindFile, Access: devRW, Why: "new ptys (their slaves under /dev/pts cannot be opened)"})
		}
	}
	ll.Terminal = devRW
	// Root keeps no capability either (CAP_DAC_OVERRIDE, CAP_CHOWN, ...):
	// Landlock does not cover everything they allow.
	b.pl.DropCapabilities = in.Facts.UID == 0
	b.pl.ProcessTree = "subreaper + process-tree walk (setsid and double-forked processes are reparented to the plugin and killed)"
	if b.limitsCgroup() {
		b.pl.ProcessTree = "every process of the run's cgroup is killed, then a subreaper process-tree walk"
	}
	return nil
}

// namespacesMode plans the namespaces, mounts, and seccomp.
func (b *builder) namespacesMode() error {
	in, p := b.in, b.in.Policy
	if !in.Facts.UserNS {
		return fmt.Errorf("%w: %s needs unprivileged user namespaces: %s", core.ErrUnavailable, NameNamespaces, in.Facts.UserNSNote)
	}
	pl := b.pl
	pl.Namespaces = []string{"user", "mount", "pid", "ipc", "uts"}
	if p.Network.Mode == core.NetworkDeny {
		pl.Namespaces = append(pl.Namespaces, "net")
		pl.Loopback = true
	}
	pl.UIDMap, pl.GIDMap = idMaps(in.Facts.UID, in.Facts.GID)
	pl.DropCapabilities = true
	m := func(op, src, dst, opts, why string) {
		pl.Mounts = append(pl.Mounts, Mount{Op: op, Source: src, Target: dst, Options: opts, Why: why})
	}
	m(MountPrivate, "", "/", "", "no mount propagates between the sandbox and the host, either way")
	m(MountRootRO, "/", "/", "", "the whole host file system, read-only (recursively)")
	m(MountProc, "proc", "/proc", "nosuid,nodev,noexec", "a /proc that shows only the sandbox's processes")
	for _, d := range procReadOnly {
		// As bubblewrap does: the kernel-wide knobs under /proc stay
		// read-only even for a command that is uid 0 (root's identity map).
		m(MountReadOnly, "", d, "", "kernel settings are not the sandbox's to change")
	}
	m(MountTmpfs, "tmpfs", "/dev", "mode=0755,nosuid", "minimal /dev")
	for _, d := range deviceNodes {
		if b.kind(d) != KindMissing {
			m(MountDevNode, d, d, "", "device node")
		}
	}
	m(MountDevpts, "devpts", "/dev/pts", devptsOptions, "a new pty instance: other terminals are not visible")
	m(MountSymlink, ptmxTarget, "/dev/ptmx", "", "")
	m(MountConsole, "stdin", "/dev/console", "", "the run's terminal, when it has one (a --tty run): the new pty instance does not show it, so it gets a name here (as container runtimes do), and tty(1) works")
	m(MountSymlink, "/proc/self/fd", "/dev/fd", "", "")
	m(MountSymlink, "/proc/self/fd/0", "/dev/stdin", "", "")
	m(MountSymlink, "/proc/self/fd/1", "/dev/stdout", "", "")
	m(MountSymlink, "/proc/self/fd/2", "/dev/stderr", "", "")
	m(MountTmpfs, "tmpfs", "/dev/shm", "mode=1777,nosuid,nodev", "private shared memory")
	tmpRW := map[string]bool{}
	for _, t := range b.writableTmp() {
		tmpRW[t] = true
	}
	for _, t := range in.Facts.TmpDirs {
		switch {
		case tmpRW[t]:
			m(MountBindRW, t, t, "", "temporary directory, writable by policy")
		case t == "/tmp":
			m(MountTmpfs, "tmpfs", t, "mode=1777,nosuid,nodev", "private /tmp (the host's stays read-only)")
		}
	}
	// Writable roots: bound read-write; protected paths re-bound read-only
	// afterwards. When a protected name does not exist (or is a symlink,
	// which could be replaced), the root itself stays read-only and only
	// its other entries are bound read-write, so the name cannot be
	// created.
	var roBinds []Mount
	b.frozen = map[string]string{}
	for _, root := range p.WritePaths() {
		targets := b.protectedIn(root)
		var missing []string // protected names that cannot be bound read-only
		for _, t := range targets {
			if !t.Exists || b.isSymlink(t) {
				missing = append(missing, filepath.Base(t.Path))
			} else {
				roBinds = append(roBinds, Mount{Op: MountBindRO, Source: t.Path, Target: t.Path, Why: "protected " + t.Name})
			}
		}
		if len(missing) == 0 {
			m(MountBindRW, root, root, "", "writable root")
			continue
		}
		b.frozen[root] = "read-only so that " + strings.Join(missing, ", ") +
			" (missing or a symlink) cannot be created; create them or drop them from protected to make the root fully writable"
		m(MountBindRO, root, root, "", "writable root with missing protected names: its own entries are fixed")
		err := b.carve(root, targets, func(path string, k Kind) {
			if k == KindDir || k == KindFile {
				m(MountBindRW, path, path, "", "entry of writable root "+root)
			}
		})
		if err != nil {
			return err
		}
	}
	// Protected paths outside the writable roots but inside a writable
	// temporary directory (a worktree's gitdir under /tmp) are re-bound
	// read-only too.
	bound := map[string]bool{}
	for _, m := range roBinds {
		bound[m.Target] = true
	}
	for _, pp := range in.Layout.Protected {
		if bound[pp.Path] || !pp.Exists || b.isSymlink(pp) {
			continue
		}
		for t := range tmpRW {
			if inside(t, pp.Path) {
				roBinds = append(roBinds, Mount{Op: MountBindRO, Source: pp.Path, Target: pp.Path, Why: "protected " + pp.Name + " inside a writable temporary directory"})
				bound[pp.Path] = true
				break
			}
		}
	}
	pl.Mounts = append(pl.Mounts, roBinds...)
	m(MountPivotRoot, "", "/", "", "the old root is detached")
	if p.Read.Mode == core.ReadRestricted && in.Facts.LandlockABI >= 1 {
		ll := &LandlockPlan{ABI: in.Facts.LandlockABI, HandledFS: fsRead}
		b.readRules(ll)
		pl.Landlock = ll
	}
	pl.ProcessTree = "pid namespace: its init (a re-exec of the plugin) reaps, relays the exit status, and when it dies the kernel kills every process in the namespace"
	return nil
}

// idMaps returns the user namespace's id maps for a plugin running as
// uid:gid (the maps of a run, and of the probe). Root maps every id to
// itself, so files keep their owners; the command still holds no
// capability (DropCapabilities). Another user maps only its own ids.
func idMaps(uid, gid int) (uidMap, gidMap *IDMap) {
	if uid == 0 {
		return &IDMap{Inside: 0, Outside: 0, Count: 4294967295}, &IDMap{Inside: 0, Outside: 0, Count: 4294967295}
	}
	return &IDMap{Inside: uid, Outside: uid, Count: 1}, &IDMap{Inside: gid, Outside: gid, Count: 1}
}

func (b *builder) isSymlink(t core.ProtectedPath) bool { return b.kind(t.Path) == KindSymlink }

// seccomp plans the filter shared by both modes.
func (b *builder) seccomp() {
	if !b.in.Facts.Seccomp {
		return
	}
	sp := &SeccompPlan{DefaultAction: "allow", BadArch: "kill process"}
	deny := func(why, errno string, names ...string) {
		for _, n := range names {
			sp.Rules = append(sp.Rules, SeccompRule{Syscall: n, Errno: errno, Why: why})
		}
	}
	if b.in.Policy.Network.Mode == core.NetworkDeny {
		for _, sc := range []string{"socket", "socketpair"} {
			sp.Rules = append(sp.Rules, SeccompRule{Syscall: sc, Errno: "EAFNOSUPPORT",
				Arg: &ArgCond{Index: 0, Op: "ne", Value: afUnix}, Why: "network denied: only AF_UNIX sockets"})
		}
	}
	deny("async I/O rings bypass per-syscall filtering", "EPERM", "io_uring_setup", "io_uring_enter", "io_uring_register")
	deny("no tracing or memory access of other processes", "EPERM", "ptrace", "process_vm_readv", "process_vm_writev")
	deny("kernel attack surface a sandboxed command does not need", "EPERM",
		"kexec_load", "kexec_file_load", "bpf", "perf_event_open", "userfaultfd", "add_key", "keyctl",
		"request_key", "init_module", "finit_module", "delete_module", "acct", "swapon", "swapoff",
		"reboot", "iopl", "ioperm", "open_by_handle_at", "quotactl", "lookup_dcookie", "uselib")
	deny("no changes to the mount table", "EPERM",
		"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
		"fsmount", "fspick", "mount_setattr")
	deny("no entering other namespaces", "EPERM", "setns")
	for _, sc := range []string{"unshare", "clone"} {
		for _, f := range namespaceFlags {
			sp.Rules = append(sp.Rules, SeccompRule{Syscall: sc, Errno: "EPERM",
				Arg: &ArgCond{Index: 0, Op: "masked_eq", Mask: f.Flag, Value: f.Flag}, Why: "no new namespaces (" + f.Name + ")"})
		}
	}
	sp.Rules = append(sp.Rules, SeccompRule{Syscall: "clone3", Errno: "ENOSYS",
		Why: "its flags cannot be inspected; libc falls back to clone"})
	for _, io := range []struct {
		name string
		v    uint64
	}{{"TIOCSTI", ioctlTIOCSTI}, {"TIOCLINUX", ioctlTIOCLINUX}} {
		sp.Rules = append(sp.Rules, SeccompRule{Syscall: "ioctl", Errno: "EPERM",
			Arg: &ArgCond{Index: 1, Op: "masked_eq", Mask: 0xffffffff, Value: io.v}, Why: "no terminal input injection (" + io.name + ")"})
	}
	b.pl.Seccomp = sp
}

// limitsCgroup reports whether the policy sets a cgroup limit that the
// host can enforce.
func (b *builder) limitsCgroup() bool {
	l, cg := b.in.Policy.Limits, b.in.Facts.Cgroup
	if cg.Version == 0 {
		return false
	}
	return (l.MemoryBytes > 0 && cg.Has("memory")) || (l.Pids > 0 && cg.Has("pids")) || (l.CPU > 0 && cg.Has("cpu"))
}

// cgroup plans the limits: the values, and the files they give (see
// cgroupWrites, which derives them from the library's own resources).
func (b *builder) cgroup() {
	if !b.limitsCgroup() {
		return
	}
	l, cg := b.in.Policy.Limits, b.in.Facts.Cgroup
	cp := &CgroupPlan{Version: cg.Version, Parents: map[string]string{}}
	parent := func(ctrl string) {
		key := ctrl
		if cg.Version == 2 {
			key = "unified"
		}
		if d, ok := cg.Parents[key]; ok {
			cp.Parents[key] = d
		}
	}
	const period = 100000
	if l.MemoryBytes > 0 && cg.Has("memory") {
		parent("memory")
		cp.Limits.MemoryBytes = l.MemoryBytes
		cp.Limits.NoSwap = cg.Swap
	}
	if l.Pids > 0 && cg.Has("pids") {
		parent("pids")
		cp.Limits.Pids = int64(l.Pids)
	}
	if l.CPU > 0 && cg.Has("cpu") {
		parent("cpu")
		cp.Limits.CPUQuotaUS, cp.Limits.CPUPeriodUS = cpuQuota(l.CPU, period), period
	}
	cp.Writes = cgroupWrites(cg.Version, cp.Limits)
	b.pl.Cgroup = cp
}

func cpuQuota(cores float64, period int64) int64 {
	q := int64(cores * float64(period))
	if q < 1000 {
		q = 1000 // the kernel's minimum quota is 1ms
	}
	return q
}
