package none

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/sdk/proc"
)

// Name is the backend's name, as given to --backend.
const Name = "none"

// Mechanisms and notes the plan reports.
const (
	// MechanismNothing is the mechanism of elements that restrict nothing.
	MechanismNothing = "nothing to restrict"
	// NoteUnsandboxed explains every Absent element.
	NoteUnsandboxed = "the none backend runs the command directly, unsandboxed"
	// NoteBestEffortTree explains the timeout and process-tree elements,
	// which the backend still applies without being able to enforce them.
	NoteBestEffortTree = "the none backend runs the command unsandboxed; it still kills the command's process tree " +
		"(on timeout and when the run ends), but nothing stops the command from escaping it"
)

// hint replaces the generic hint of a strict refusal.
const hint = "The none backend enforces nothing: it runs the command directly. Pass --best-effort to run it " +
	"unsandboxed anyway, or choose a backend that sandboxes (see `sbx backends`)."

// Backend runs commands directly, without a sandbox.
type Backend struct{}

var _ core.Backend = Backend{}

// New returns the none backend.
func New() core.Backend { return Backend{} }

// Info describes the backend: available everywhere, enforcing nothing, with
// terminals supported.
func (Backend) Info(context.Context) (core.Info, error) {
	return core.Info{
		Name:        Name,
		Description: "no sandbox: runs the command directly (needs --best-effort for any restricting policy)",
		OS:          "any",
		Available:   true,
		Capabilities: core.Capabilities{
			Write:       core.Absent,
			Protected:   core.Absent,
			Read:        core.Absent,
			Network:     core.Absent,
			Limits:      core.Absent,
			ProcessTree: core.Absent,
			TTY:         true,
		},
		Facts: map[string]string{"goos": runtime.GOOS},
	}, nil
}

// Plan reports every element of p: Enforced when it restricts nothing,
// Absent otherwise.
func (Backend) Plan(_ context.Context, p core.Policy) (*core.Plan, error) {
	els := core.Requested(p, tmpDirs())
	for i := range els {
		el := &els[i]
		switch {
		case el.Unrestricted():
			el.Strength, el.Mechanism = core.Enforced, MechanismNothing
		case el.Subject == core.SubjectTimeout || el.Subject == core.SubjectProcessTree:
			el.Strength, el.Note = core.Absent, NoteBestEffortTree
		default:
			el.Strength, el.Note = core.Absent, NoteUnsandboxed
		}
	}
	steps := []core.Step{{Layer: "exec", Action: "run the command directly, unsandboxed"}}
	detail, err := json.Marshal(struct {
		Steps []core.Step `json:"steps"`
	}{steps})
	if err != nil {
		return nil, err
	}
	return &core.Plan{
		Backend: Name,
		Report:  core.Report{Backend: Name, Elements: els},
		Steps:   steps,
		Detail:  detail,
	}, nil
}

// Run runs the command directly once the request accepts what the plan
// cannot enforce (only --best-effort does, for a policy that restricts
// anything). Downgrades are printed to req.Diagnostics and kept in the
// result's report.
func (b Backend) Run(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
	plan, err := b.Plan(ctx, req.Policy)
	if err != nil {
		return nil, err
	}
	if err := plan.Report.Check(req.Accept); err != nil {
		var ne *core.NotEnforcedError
		if errors.As(err, &ne) {
			ne.Hint = hint
		}
		return nil, err
	}
	plan.Report.WriteDowngrades(req.Diagnostics)
	res, err := proc.Run(ctx, proc.FromRequest(req))
	if res != nil {
		res.Report = plan.Report
	}
	return res, err
}

// tmpDirs returns the temporary directories a policy with WritableTmp
// lists: /tmp and $TMPDIR on Unix, %TEMP% on Windows.
func tmpDirs() []string {
	if runtime.GOOS == "windows" {
		return []string{os.TempDir()}
	}
	return core.UnixTmpDirs(os.Getenv)
}
