package linux

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"

	"github.com/sbxdev/sbx/backends/linux/sandbox"
	"github.com/sbxdev/sbx/core"
)

// probeOnce runs [Probe] the first time facts are needed and caches them
// for the life of the process.
var probeOnce = sync.OnceValue(Probe)

// Backends returns the three backends of the plugin: linux (the strongest
// mode that works here), linux-landlock and linux-namespaces. The host is
// probed once, on first use.
//
// The probe and every run re-execute the current binary as a helper, so a
// program serving these backends must call [Reexec] first thing in main.
func Backends() []core.Backend {
	// Probe in the background from the start, so that the probe overlaps
	// the plugin handshake instead of delaying the first call.
	go probeOnce()
	// One pool of spare helpers: a run through linux and one through the
	// mode it picked need the same helper start.
	spares := newSparePool()
	return []core.Backend{
		&Backend{name: NameAuto, facts: probeOnce, spares: spares},
		&Backend{name: NameLandlock, mode: ModeLandlock, facts: probeOnce, spares: spares},
		&Backend{name: NameNamespaces, mode: ModeNamespaces, facts: probeOnce, spares: spares},
	}
}

// Reexec runs the helper role this process was started for, and exits.
// It returns at once when the process is not a helper (and always outside
// Linux), so plugin mains (and TestMain of packages that run the backend)
// call it first: when the dedicated helper is not installed, the plugin
// re-executes itself in its place.
func Reexec() { sandbox.Reexec() }

// New returns the backend called name with the given facts instead of
// probing the host (for tests and tools).
func New(name string, f Facts) (*Backend, error) {
	b := &Backend{name: name, facts: func() Facts { return f }, spares: newSparePool()}
	switch name {
	case NameAuto:
	case NameLandlock:
		b.mode = ModeLandlock
	case NameNamespaces:
		b.mode = ModeNamespaces
	default:
		return nil, fmt.Errorf("%w: no linux backend called %q", core.ErrNotFound, name)
	}
	return b, nil
}

// Backend is one mode of the Linux backend. It implements core.Backend.
type Backend struct {
	name  string
	mode  Mode // empty for NameAuto: chosen from the facts
	facts func() Facts
	// spares are the helpers started ahead of runs (Linux plugin agents).
	spares *sparePool
}

var _ core.Backend = (*Backend)(nil)

// SelectMode returns the strongest mode that can run with facts f, and
// why; it returns "" when none can.
func SelectMode(f Facts) (Mode, string) {
	switch {
	case runtime.GOOS != "linux":
		return "", "not Linux"
	case f.UserNS:
		return ModeNamespaces, "user namespaces work here: mount, pid and network namespaces hold more than Landlock alone (metadata writes, every protocol, no visible outside processes)"
	case f.LandlockABI >= 1:
		return ModeLandlock, "user namespaces are unavailable (" + f.UserNSNote + "); Landlock ABI " + fmt.Sprint(f.LandlockABI) + " works"
	default:
		return "", "neither user namespaces (" + f.UserNSNote + ") nor Landlock (" + f.LandlockNote + ") are available"
	}
}

// resolve returns the mode this backend runs in here, or an error that says
// why it cannot run and what to do.
func (b *Backend) resolve(f Facts) (Mode, string, error) {
	if runtime.GOOS != "linux" {
		return "", "", fmt.Errorf("%w: the %s backend runs only on Linux", core.ErrUnsupported, b.name)
	}
	switch b.mode {
	case ModeLandlock:
		if f.LandlockABI < 1 {
			return "", "", fmt.Errorf("%w: %s needs Landlock (Linux 5.13+ with landlock in the lsm= boot list): %s; use --backend=linux-namespaces", core.ErrUnavailable, b.name, f.LandlockNote)
		}
		return ModeLandlock, "", nil
	case ModeNamespaces:
		if !f.UserNS {
			return "", "", fmt.Errorf("%w: %s: %s", core.ErrUnavailable, b.name, f.UserNSNote)
		}
		return ModeNamespaces, "", nil
	}
	m, why := SelectMode(f)
	if m == "" {
		return "", "", fmt.Errorf("%w: %s: %s", core.ErrUnavailable, b.name, why)
	}
	return m, why, nil
}

// Info describes the backend and whether it can run here.
func (b *Backend) Info(ctx context.Context) (core.Info, error) {
	f := b.facts()
	info := core.Info{Name: b.name, OS: "linux", Facts: f.Map()}
	switch b.name {
	case NameLandlock:
		info.Description = "Landlock + seccomp, no namespaces (works where user namespaces are blocked)"
	case NameNamespaces:
		info.Description = "user, mount, pid and network namespaces + seccomp (bubblewrap-like, in Go)"
	default:
		info.Description = "the strongest Linux mode that works on this host"
	}
	mode, why, err := b.resolve(f)
	if err != nil {
		info.Unavailable = err.Error()
		return info, nil
	}
	info.Available = true
	if b.name == NameAuto {
		info.Description += ": linux-" + string(mode) + " here"
		info.Facts["selected_mode"] = "linux-" + string(mode)
		info.Facts["selected_because"] = why
	}
	info.Capabilities = capabilities(mode, f)
	return info, nil
}

// capabilities says how strongly mode holds each boundary with facts f, at
// best.
func capabilities(mode Mode, f Facts) core.Capabilities {
	c := core.Capabilities{Write: core.Enforced, Protected: core.Enforced, Read: core.Enforced,
		Network: core.Enforced, Limits: core.Absent, ProcessTree: core.Enforced, TTY: true}
	if f.LandlockABI < 1 {
		c.Read = core.Absent
	}
	if f.Cgroup.Version > 0 {
		c.Limits = core.Enforced
	}
	if mode == ModeLandlock {
		if f.LandlockABI < 3 {
			c.Write, c.Protected = core.Absent, core.Absent
		}
		if !f.Seccomp {
			c.Network = core.Absent
		}
		if f.LandlockABI < 6 {
			c.ProcessTree = core.Absent
		}
	}
	return c
}

// plan gathers the layout and builds the typed plan and its report.
func (b *Backend) plan(p core.Policy) (*Plan, core.Report, error) {
	if err := p.Validate(nil, core.LstatPath); err != nil {
		return nil, core.Report{}, err
	}
	f := b.facts()
	mode, why, err := b.resolve(f)
	if err != nil {
		return nil, core.Report{}, err
	}
	layout, err := GatherLayout(p, f, mode)
	if err != nil {
		return nil, core.Report{}, err
	}
	return BuildPlan(Input{Backend: b.name, Mode: mode, Why: why, Policy: p, Facts: f, Layout: layout})
}

// Plan says what Run would do for p. The result carries the typed plan
// (core.Plan.Handle), which Run applies when it gets it back in
// RunRequest.Plan.
func (b *Backend) Plan(ctx context.Context, p core.Policy) (*core.Plan, error) {
	pl, rep, err := b.plan(p)
	if err != nil {
		return nil, err
	}
	cp, err := pl.CorePlan(rep)
	if err != nil {
		return nil, err
	}
	cp.Handle = &typedPlan{b: b, policy: p, pl: pl, rep: rep}
	return cp, nil
}

// typedPlan is what Plan keeps in core.Plan.Handle for Run.
type typedPlan struct {
	b      *Backend
	policy core.Policy
	pl     *Plan
	rep    core.Report
}

// planFor returns the plan of req: the one Plan made for the same backend
// and policy when the caller passes it back (the SDK planned first, to
// check the report with the host), else a new one.
func (b *Backend) planFor(req *core.RunRequest) (*Plan, core.Report, error) {
	if req.Plan != nil {
		if h, ok := req.Plan.Handle.(*typedPlan); ok && h.b == b && reflect.DeepEqual(h.policy, req.Policy) {
			return h.pl, h.rep, nil
		}
	}
	return b.plan(req.Policy)
}

// Run runs req.Argv under req.Policy and waits for it.
func (b *Backend) Run(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
	if len(req.Argv) == 0 {
		return nil, fmt.Errorf("%w: no command to run", core.ErrInvalidPolicy)
	}
	pl, rep, err := b.planFor(req)
	if err != nil {
		return nil, err
	}
	if err := rep.Check(req.Accept); err != nil {
		return nil, err
	}
	rep.WriteDowngrades(req.Diagnostics)
	res, err := run(ctx, req, pl, b.facts().Helper, b.spares)
	if res != nil {
		res.Report = rep
	}
	return res, err
}
