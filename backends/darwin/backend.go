package darwin

import (
	"context"
	"fmt"

	"github.com/sbxdev/sbx/core"
)

// Backend names.
const (
	// Name is the backend's name.
	Name = "darwin-seatbelt"
	// Alias is the short name of the same backend.
	Alias = "darwin"
)

// Backend runs commands under a Seatbelt profile generated from the policy.
// Info and Run work on macOS only; Plan works everywhere, so
// `sbx explain --backend=darwin-seatbelt` prints the profile on any OS.
type Backend struct {
	name string
	opts Options
	// host returns the facts of the Mac the command runs on: the real ones
	// on macOS, a generic Mac elsewhere (see host_darwin.go and
	// backend_unsupported.go).
	host func() (Host, error)
}

var _ core.Backend = (*Backend)(nil)

// New returns the backend under the given name (Name or Alias).
func New(name string) *Backend {
	return &Backend{name: name, host: localHost}
}

// WithOptions returns a copy of b that plans and runs with o.
func (b *Backend) WithOptions(o Options) *Backend {
	c := *b
	c.opts = o
	return &c
}

// Backends returns the backend under both of its names, for sdk.Serve.
func Backends() []core.Backend {
	return []core.Backend{New(Name), New(Alias)}
}

// Name returns the name b was created with.
func (b *Backend) Name() string { return b.name }

// Info describes the backend and whether it can run here: on macOS, when
// /usr/bin/sandbox-exec exists and can apply a profile (it cannot inside
// another Seatbelt sandbox); elsewhere never (Available false, with the
// reason).
func (b *Backend) Info(ctx context.Context) (core.Info, error) {
	info := core.Info{
		Name:        b.name,
		Description: "macOS Seatbelt (sandbox-exec) profile generated from the policy",
		OS:          "darwin",
		Capabilities: core.Capabilities{
			Write:       core.Enforced,
			Protected:   core.Enforced,
			Read:        core.Enforced,
			Network:     core.Enforced,
			Limits:      core.Absent,
			ProcessTree: core.Advisory,
			TTY:         true,
		},
		Facts: map[string]string{
			"limits": "timeout enforced; pids approximate (RLIMIT_NPROC counts all your processes); memory and cpu not available on macOS",
		},
	}
	probe(ctx, &info)
	return info, nil
}

// Plan returns what Run would do for p on this host, without doing it.
func (b *Backend) Plan(ctx context.Context, p core.Policy) (*core.Plan, error) {
	plan, _, err := b.plan(p)
	return plan, err
}

// plan builds the plan and profile with this host's facts.
func (b *Backend) plan(p core.Policy) (*core.Plan, *Profile, error) {
	h, err := b.host()
	if err != nil {
		return nil, nil, fmt.Errorf("darwin: find host facts: %w", err)
	}
	return BuildPlan(b.name, p, h, b.opts)
}

// Run runs a command under the policy's profile and waits for it. It
// refuses, before starting anything, a policy the backend holds more
// weakly than req.Accept allows.
func (b *Backend) Run(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
	plan, prof, err := b.plan(req.Policy)
	if err != nil {
		return nil, err
	}
	// Not macOS, or Seatbelt unusable here: say so before anything about
	// strengths, which would not matter.
	if err := ready(ctx); err != nil {
		return nil, err
	}
	if err := plan.Report.Check(req.Accept); err != nil {
		return nil, err
	}
	plan.Report.WriteDowngrades(req.Diagnostics)
	res, err := run(ctx, req, prof)
	if res != nil {
		res.Report = plan.Report
	}
	return res, err
}
