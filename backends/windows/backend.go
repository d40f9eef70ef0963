package windows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/sbxdev/sbx/core"
)

// Backend names served by the plugin.
const (
	NameUnelevated = "windows-unelevated"
	NameElevated   = "windows-elevated"
	NameAuto       = "windows"
)

// platform is what a Backend needs from the OS beyond the pure plan. The
// Windows implementation is in backend_windows.go; elsewhere every method
// but Facts fails with core.ErrUnsupported.
type platform interface {
	// Facts detects the host facts. Off Windows it returns FakeFacts and
	// an error matching core.ErrUnsupported.
	Facts(ctx context.Context) (HostFacts, error)
	// Run runs a planned command.
	Run(ctx context.Context, in *RunInput) (*core.RunResult, error)
	// Setup installs or removes a mode's one-time setup.
	Setup(ctx context.Context, m Mode, req core.SetupRequest, f HostFacts, progress io.Writer) error
	// Status says what of a mode's setup is in place.
	Status(ctx context.Context, m Mode, f HostFacts) (core.SetupStatus, error)
}

// RunInput is a planned run, handed to the platform.
type RunInput struct {
	Mode   Mode
	Plan   *core.Plan
	Detail *Detail
	Facts  HostFacts
	Req    *core.RunRequest
	Nonce  string
}

// Backend is one of the Windows backend's modes. It implements
// core.Backend and core.Setuper.
type Backend struct {
	name string
	mode Mode // "" selects elevated when its setup is done, else unelevated
	plat platform
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Setuper = (*Backend)(nil)
)

// Backends returns the three backends the Windows plugin serves:
// windows-unelevated, windows-elevated and windows (the best available).
// On other systems they plan but do not run.
func Backends() []core.Backend {
	return backendsWith(newPlatform())
}

func backendsWith(p platform) []core.Backend {
	return []core.Backend{
		&Backend{name: NameUnelevated, mode: ModeUnelevated, plat: p},
		&Backend{name: NameElevated, mode: ModeElevated, plat: p},
		&Backend{name: NameAuto, plat: p},
	}
}

// facts returns the host facts; off Windows, FakeFacts with the reason the
// backend cannot run.
func (b *Backend) facts(ctx context.Context) (HostFacts, error) {
	f, err := b.plat.Facts(ctx)
	if err != nil && !errors.Is(err, core.ErrUnsupported) {
		return f, err
	}
	return f, nil
}

// resolve picks the mode of the "windows" backend.
func (b *Backend) resolve(f HostFacts) (Mode, string) {
	if b.mode != "" {
		return b.mode, ""
	}
	if f.Setup.Done() {
		return ModeElevated, fmt.Sprintf("elevated: its setup (version %d) is in place", f.Setup.Version)
	}
	why := "unelevated: the elevated setup is not in place (run `sbx setup --backend=windows-elevated` for enforced network denial)"
	if f.Setup.Version != 0 && f.Setup.Version != SetupVersion {
		why = fmt.Sprintf("unelevated: the elevated setup is version %d, this sbx needs %d (run `sbx setup --backend=windows-elevated` again)", f.Setup.Version, SetupVersion)
	}
	return ModeUnelevated, why
}

// Info describes the backend. Off Windows it is not available, but its
// plan still works (`sbx explain`).
func (b *Backend) Info(ctx context.Context) (core.Info, error) {
	f, ferr := b.plat.Facts(ctx)
	mode, why := b.resolve(f)
	info := core.Info{
		Name: b.name,
		OS:   "windows",
		Facts: map[string]string{
			"mode":          string(mode),
			"setup_version": strconv.Itoa(f.Setup.Version),
			"setup_wanted":  strconv.Itoa(SetupVersion),
			"real_host":     strconv.FormatBool(f.Real),
		},
	}
	if why != "" {
		info.Facts["selected"] = why
	}
	switch b.name {
	case NameUnelevated:
		info.Description = "write-restricted token with sbx's own SIDs; no admin; network denial advisory"
	case NameElevated:
		info.Description = "dedicated offline/online sandbox users (one-time admin setup); network denial enforced by WFP"
	default:
		info.Description = "windows-elevated when its setup is done, else windows-unelevated (now: " + string(mode) + ")"
	}
	info.Capabilities = capabilities(mode)
	switch {
	case ferr != nil && errors.Is(ferr, core.ErrUnsupported):
		info.Unavailable = "runs only on Windows; `sbx explain --backend=" + b.name + "` shows its plan on any OS"
	case ferr != nil:
		info.Unavailable = "cannot read the host's facts: " + ferr.Error()
	case mode == ModeElevated && !f.Setup.Done():
		info.NeedsSetup = true
		info.Unavailable = "needs its one-time setup: run `sbx setup --backend=windows-elevated` (asks for administrator rights once)"
	default:
		info.Available = true
	}
	return info, nil
}

// capabilities are the best strengths of a mode.
func capabilities(m Mode) core.Capabilities {
	c := core.Capabilities{
		Write:       core.Advisory,
		Protected:   core.Enforced,
		Read:        core.Absent,
		Network:     core.Advisory,
		Limits:      core.Enforced,
		ProcessTree: core.Enforced,
		TTY:         true,
	}
	if m == ModeElevated {
		c.Write = core.Enforced
		c.Network = core.Enforced
	}
	return c
}

// Plan computes the plan on any OS.
func (b *Backend) Plan(ctx context.Context, p core.Policy) (*core.Plan, error) {
	plan, _, _, err := b.plan(ctx, p, NewNonce())
	return plan, err
}

func (b *Backend) plan(ctx context.Context, p core.Policy, nonce string) (*core.Plan, *Detail, HostFacts, error) {
	f, err := b.facts(ctx)
	if err != nil {
		return nil, nil, f, err
	}
	mode, why := b.resolve(f)
	plan, d, err := BuildPlan(PlanInput{Mode: mode, Policy: p, Nonce: nonce, Backend: b.name, Selected: why}, f)
	return plan, d, f, err
}

// Run plans, refuses what the run's acceptance does not allow, and runs.
func (b *Backend) Run(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
	if len(req.Argv) == 0 {
		return nil, fmt.Errorf("no command to run: %w", core.ErrInvalidPolicy)
	}
	nonce := NewNonce()
	plan, d, f, err := b.plan(ctx, req.Policy, nonce)
	if err != nil {
		return nil, err
	}
	if err := plan.Report.Check(req.Accept); err != nil {
		return nil, err
	}
	if !f.Real {
		return nil, errNotWindows
	}
	if d.Mode == ModeElevated && !f.Setup.Done() {
		return nil, fmt.Errorf("windows-elevated: run `sbx setup --backend=windows-elevated` first (it asks for administrator rights once): %w", core.ErrSetupRequired)
	}
	plan.Report.WriteDowngrades(req.Diagnostics)
	res, err := b.plat.Run(ctx, &RunInput{Mode: d.Mode, Plan: plan, Detail: d, Facts: f, Req: req, Nonce: nonce})
	if res != nil {
		res.Report = plan.Report
	}
	if req.Diagnostics != nil {
		for _, pp := range createdProtected(d, f.FS) {
			fmt.Fprintf(req.Diagnostics, "sbx: warning: protected name %s was created during the run (Windows ACLs could not refuse it); review it before trusting it\n", pp)
		}
	}
	return res, err
}

// createdProtected lists protected paths that did not exist when the run
// was planned and exist now.
func createdProtected(d *Detail, fs FS) []string {
	if fs == nil {
		return nil
	}
	var out []string
	for _, pp := range d.Protected {
		if !pp.Exists {
			if ok, _ := fs.Stat(pp.Path); ok {
				out = append(out, pp.Path)
			}
		}
	}
	return out
}

// Setup installs (or with Undo removes) the mode's one-time setup. For the
// unelevated mode, setup pre-applies the ACEs of req.Policy (when given),
// and undo removes every journaled ACE. For the elevated mode (and
// "windows"), it runs the administrator setup.
func (b *Backend) Setup(ctx context.Context, req core.SetupRequest, progress io.Writer) error {
	f, err := b.plat.Facts(ctx)
	if err != nil {
		return err
	}
	if progress == nil {
		progress = io.Discard
	}
	return b.plat.Setup(ctx, b.setupMode(), req, f, progress)
}

// SetupStatus says what is in place.
func (b *Backend) SetupStatus(ctx context.Context) (core.SetupStatus, error) {
	f, err := b.plat.Facts(ctx)
	if err != nil {
		return core.SetupStatus{}, err
	}
	return b.plat.Status(ctx, b.setupMode(), f)
}

// setupMode is the mode whose setup Setup and SetupStatus handle: the
// backend's own, and for "windows" the elevated one (the unelevated mode
// needs none).
func (b *Backend) setupMode() Mode {
	if b.mode == "" {
		return ModeElevated
	}
	return b.mode
}
