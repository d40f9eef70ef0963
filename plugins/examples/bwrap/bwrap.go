package bwrap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/sdk/proc"
)

// Name is the backend's name, as given to --backend. The plugin binary is
// therefore sbx-backend-bwrap.
const Name = "bwrap"

// Backend runs commands under bubblewrap. The zero value is not usable;
// call New.
type Backend struct {
	// lookPath finds bwrap (exec.LookPath); tests replace it.
	lookPath func(string) (string, error)
	// try runs bwrap with args and reports whether it exited 0, with its
	// stderr (for the message only); tests replace it.
	try func(ctx context.Context, path string, args []string) (ok bool, stderr string)

	once  sync.Once
	facts Facts
}

var _ core.Backend = (*Backend)(nil)

// New returns the bwrap backend.
func New() *Backend {
	return &Backend{lookPath: exec.LookPath, try: tryBwrap}
}

// Facts are what the backend found on the host, once.
type Facts struct {
	// Path is the bwrap executable ("" when not found).
	Path string `json:"path,omitempty"`
	// Available is true when a test sandbox worked.
	Available bool `json:"available"`
	// Why says why not, and what to do.
	Why string `json:"why,omitempty"`
	// TmpDirs are the temporary directories made writable by
	// Policy.WritableTmp.
	TmpDirs []string `json:"tmp_dirs"`
}

// hostFacts finds bwrap and tries a sandbox with the flags Run uses: the
// answer comes from bwrap's exit status (it fails when user namespaces
// are blocked, or when it is not setuid where it would need to be), not
// from parsing its messages, which differ between versions.
func (b *Backend) hostFacts(ctx context.Context) Facts {
	b.once.Do(func() {
		f := Facts{TmpDirs: tmpDirs()}
		switch path, err := b.lookPath("bwrap"); {
		case runtime.GOOS != "linux":
			f.Why = "bubblewrap runs on Linux only"
		case err != nil:
			f.Why = "bwrap is not installed: install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)"
		default:
			f.Path = path
			tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			args, _ := baseFlags(true, false)
			args = append(args, "--", "true")
			if ok, stderr := b.try(tctx, path, args); ok {
				f.Available = true
			} else {
				f.Why = "bwrap cannot create its sandbox on this host (are unprivileged user namespaces disabled? " +
					"see kernel.unprivileged_userns_clone or kernel.apparmor_restrict_unprivileged_userns)"
				if s := strings.TrimSpace(stderr); s != "" {
					f.Why += ": " + s
				}
			}
		}
		b.facts = f
	})
	return b.facts
}

// tryBwrap runs bwrap and reports whether it exited 0.
func tryBwrap(ctx context.Context, path string, args []string) (bool, string) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	return err == nil, stderr.String()
}

// tmpDirs are core's temporary directories that exist here (bwrap cannot
// bind a missing one).
func tmpDirs() []string {
	var out []string
	for _, d := range core.UnixTmpDirs(os.Getenv) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// Info describes the backend and whether bwrap works here.
func (b *Backend) Info(ctx context.Context) (core.Info, error) {
	f := b.hostFacts(ctx)
	info := core.Info{
		Name:        Name,
		Description: "bubblewrap (bwrap): read-only root, writable roots bound in, new network and pid namespaces (example third-party backend)",
		OS:          "linux",
		Available:   f.Available,
		Unavailable: f.Why,
		Capabilities: core.Capabilities{
			Write:       core.Enforced,
			Protected:   core.Enforced, // existing names; missing ones are reported absent by Plan
			Read:        core.Absent,
			Network:     core.Enforced,
			Limits:      core.Absent, // only the timeout
			ProcessTree: core.Enforced,
			TTY:         true,
		},
		Facts: map[string]string{"bwrap": f.Path, "tmp_dirs": strings.Join(f.TmpDirs, " ")},
	}
	if f.Path == "" {
		info.Facts["bwrap"] = "not found"
	}
	return info, nil
}

// Plan reports every element of p and the bwrap arguments Run would use.
func (b *Backend) Plan(ctx context.Context, p core.Policy) (*core.Plan, error) {
	f := b.hostFacts(ctx)
	pl := BuildPlan(p, f.TmpDirs, lstatKind, false)
	return pl.corePlan()
}

// Kind is what a path is on the host.
type Kind int

const (
	// Missing: nothing at the path.
	Missing Kind = iota
	// Dir: a directory.
	Dir
	// File: a file (or another non-directory, non-link).
	File
	// Symlink: a symbolic link (not followed).
	Symlink
)

// KindFunc tells what a path is, without following a final symbolic link.
type KindFunc func(path string) Kind

// lstatKind is the KindFunc of the real file system.
func lstatKind(path string) Kind {
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return Missing
	case fi.Mode()&os.ModeSymlink != 0:
		return Symlink
	case fi.IsDir():
		return Dir
	default:
		return File
	}
}

// Plan is what Run does for a policy: the report and bwrap's arguments
// (without the command).
type Plan struct {
	// Report assesses every element of core.Requested.
	Report core.Report `json:"report"`
	// Args are bwrap's arguments before --chdir and the command.
	Args []string `json:"args"`
	// Steps are the same, for people to read.
	Steps []core.Step `json:"steps"`
}

// BuildPlan is the pure part of the backend: policy and host facts in,
// report and bwrap arguments out. kind tells what each path is; tty says
// whether the command gets a terminal (then there is no --new-session,
// which would take the terminal away from it).
func BuildPlan(p core.Policy, tmp []string, kind KindFunc, tty bool) *Plan {
	pl := &Plan{Report: core.Report{Backend: Name}}
	step := func(action, target, value string) {
		pl.Steps = append(pl.Steps, core.Step{Layer: "bwrap", Action: action, Target: target, Value: value})
	}
	pl.Args, pl.Steps = baseFlags(p.Network.Mode != core.NetworkAllow, tty)

	// Writable roots, then the temporary directories, bound read-write
	// over the read-only root. A missing one is skipped (bwrap would fail).
	writable := p.WritePaths()
	if p.WritableTmp {
		writable = append(writable, tmp...)
	}
	// Parents before children, so that a child bind is not hidden under
	// its parent's.
	sort.SliceStable(writable, func(i, j int) bool { return len(writable[i]) < len(writable[j]) })
	bound := map[string]bool{}
	for _, w := range writable {
		if bound[w] || kind(w) != Dir {
			continue
		}
		bound[w] = true
		pl.Args = append(pl.Args, "--bind", w, w)
		step("bind read-write", w, "--bind")
	}

	// Protected names: bound read-only again on top, where they exist.
	protected := map[string][]string{} // name -> problems
	var viaGit []string
	for _, pp := range core.ResolveProtected(p, nil, nil) {
		switch k := kind(pp.Path); {
		case k == Missing && pp.Via == "":
			protected[pp.Name] = append(protected[pp.Name], pp.Path+" does not exist: a bind mount cannot keep it from being created (create it, or drop it from protected)")
		case k == Symlink:
			protected[pp.Name] = append(protected[pp.Name], pp.Path+" is a symbolic link, which the command could replace")
		case k == Missing:
		default:
			pl.Args = append(pl.Args, "--ro-bind", pp.Path, pp.Path)
			step("bind read-only", pp.Path, "--ro-bind (protected "+pp.Name+")")
			if pp.Via != "" {
				viaGit = append(viaGit, pp.Path)
			}
		}
	}

	for _, el := range core.Requested(p, tmp) {
		el.Strength = core.Enforced
		switch {
		case el.Boundary == core.BoundaryWrite && el.Requested == core.ReqWritable:
			el.Mechanism = "bwrap --bind (read-write bind mount)"
			if !bound[el.Subject] {
				el.Mechanism, el.Note = "", "does not exist on this host, so nothing is bound"
			}
		case el.Boundary == core.BoundaryWrite && el.Requested == core.ReqProtected:
			el.Mechanism = "bwrap --ro-bind over the writable root"
			if len(viaGit) > 0 && el.Subject == ".git" {
				el.Mechanism += "; also the git directories " + strings.Join(viaGit, ", ")
			}
			if probs := protected[el.Subject]; len(probs) > 0 {
				el.Strength, el.Note = core.Absent, strings.Join(probs, "; ")
			}
		case el.Boundary == core.BoundaryWrite:
			el.Mechanism = "bwrap --ro-bind / / (also refuses chmod, chown, utimes and xattrs)"
			el.Note = "/dev is a private tmpfs, writable but discarded after the run"
		case el.Boundary == core.BoundaryRead && el.Requested == core.ReqReadAll:
			el.Mechanism = "nothing to restrict"
		case el.Boundary == core.BoundaryRead:
			el.Strength = core.Absent
			el.Note = "this example backend does not restrict reads (bwrap could, with a tmpfs root and read-only binds of the readable paths)"
		case el.Boundary == core.BoundaryNetwork && el.Requested == core.ReqNetworkAllow:
			el.Mechanism = "host network"
		case el.Boundary == core.BoundaryNetwork:
			el.Mechanism = "bwrap --unshare-net: a new network namespace with only loopback"
		case el.Boundary == core.BoundaryLimits && el.Subject == core.SubjectTimeout:
			el.Mechanism = "the whole process tree is killed when it expires (bwrap's pid namespace dies with it)"
		case el.Boundary == core.BoundaryLimits:
			el.Strength = core.Absent
			el.Note = "bwrap sets no resource limits"
		case el.Boundary == core.BoundaryProcess:
			el.Mechanism = "bwrap --unshare-pid --die-with-parent: when bwrap dies the kernel kills every process in its pid namespace; outside processes are not visible"
			if tty {
				el.Mechanism += "; the command's terminal is its own pty"
			} else {
				el.Mechanism += "; --new-session: no controlling terminal to inject input into"
			}
		}
		pl.Report.Elements = append(pl.Report.Elements, el)
	}
	return pl
}

// baseFlags are the bwrap flags every run uses, before the binds, and the
// steps that explain them: each flag is written once, with its step.
func baseFlags(denyNetwork, tty bool) (args []string, steps []core.Step) {
	add := func(action, target string, flags ...string) {
		args = append(args, flags...)
		steps = append(steps, core.Step{Layer: "bwrap", Action: action, Target: target, Value: strings.Join(flags, " ")})
	}
	add("namespaces", "pid, ipc", "--unshare-pid", "--unshare-ipc")
	if denyNetwork {
		add("namespace", "network (only loopback)", "--unshare-net")
	}
	add("die with", "sbx's plugin", "--die-with-parent")
	// --cap-drop ALL matters when sbx runs as root: bwrap then keeps the
	// capabilities by default, and CAP_SYS_ADMIN could remount / writable.
	add("drop capabilities", "all", "--cap-drop", "ALL")
	if !tty {
		// Without a terminal of its own, the command gets no controlling
		// terminal to inject input into.
		add("new session", "no controlling terminal", "--new-session")
	}
	add("bind read-only", "/", "--ro-bind", "/", "/")
	add("new", "/dev", "--dev", "/dev")
	add("new", "/proc", "--proc", "/proc")
	return args, steps
}

// corePlan turns the plan into a core.Plan, with the arguments as detail.
func (pl *Plan) corePlan() (*core.Plan, error) {
	detail, err := json.Marshal(struct {
		Args []string `json:"bwrap_args"`
	}{pl.Args})
	if err != nil {
		return nil, err
	}
	return &core.Plan{Backend: Name, Report: pl.Report, Steps: pl.Steps, Detail: detail}, nil
}

// Run plans, refuses what the request does not accept, prints the accepted
// downgrades, and runs the command under bwrap with proc (which hands the
// standard streams over as they are, relays a terminal, forwards signals
// and kills the whole tree).
func (b *Backend) Run(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
	if len(req.Argv) == 0 {
		return nil, fmt.Errorf("no command given: %w", core.ErrInvalidPolicy)
	}
	f := b.hostFacts(ctx)
	pl := BuildPlan(req.Policy, f.TmpDirs, lstatKind, req.TTY != nil)
	if err := pl.Report.Check(req.Accept); err != nil {
		return nil, err
	}
	if !f.Available {
		return nil, fmt.Errorf("%s: %w", f.Why, core.ErrUnavailable)
	}
	pl.Report.WriteDowngrades(req.Diagnostics)
	spec := proc.FromRequest(req)
	// bwrap would report a missing command as its own failure (exit 1);
	// look it up first so that sbx can say "not found" (exit 127).
	if _, err := lookPath(req.Argv[0], spec.Env, spec.Dir); err != nil {
		return nil, err
	}
	// proc starts bwrap, which runs the command in the same directory.
	spec.Path = f.Path
	spec.Argv = append([]string{"bwrap"}, pl.Args...)
	spec.Argv = append(spec.Argv, "--chdir", spec.Dir, "--")
	spec.Argv = append(spec.Argv, req.Argv...)
	res, err := proc.Run(ctx, spec)
	if res != nil {
		res.Report = pl.Report
	}
	return res, err
}

// lookPath finds the command as bwrap's execvp will: a name with a slash
// as is (relative to dir), otherwise in the PATH of the command's
// environment.
func lookPath(name string, env []string, dir string) (string, error) {
	check := func(p string) error {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", name, core.ErrNotFound)
		case fi.IsDir() || fi.Mode()&0o111 == 0:
			return fmt.Errorf("%s: not an executable file: %w", name, core.ErrPermission)
		}
		return nil
	}
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return p, check(p)
	}
	path, _ := core.LookupEnv(env, "PATH")
	for _, d := range filepath.SplitList(path) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, name)
		if err := check(p); err == nil {
			return p, nil
		} else if errors.Is(err, core.ErrPermission) {
			continue
		}
	}
	return "", fmt.Errorf("%s: command not found in PATH: %w", name, core.ErrNotFound)
}
