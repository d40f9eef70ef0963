package windows

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Action is one step of a setup: Apply does it, Rollback undoes it. A
// sequencer runs actions in order and, when one fails, rolls back the ones
// that succeeded, newest first.
type Action struct {
	// Name says what the step does, for progress and errors.
	Name string
	// Apply does the step.
	Apply func(ctx context.Context) error
	// Rollback undoes a successful Apply; nil when there is nothing to
	// undo.
	Rollback func() error
}

// RunSequence applies actions in order, writing one progress line per step.
// If a step fails (or ctx is canceled between steps) it rolls back every
// step already applied, newest first, and returns a *StepError naming the
// failed step and any rollback that failed too.
func RunSequence(ctx context.Context, actions []Action, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	for i, a := range actions {
		err := ctx.Err()
		if err == nil {
			fmt.Fprintf(progress, "[%d/%d] %s\n", i+1, len(actions), a.Name)
			err = a.Apply(ctx)
		}
		if err == nil {
			continue
		}
		se := &StepError{Step: a.Name, Err: err}
		for j := i - 1; j >= 0; j-- {
			r := actions[j]
			if r.Rollback == nil {
				continue
			}
			fmt.Fprintf(progress, "rollback: %s\n", r.Name)
			if rerr := r.Rollback(); rerr != nil {
				se.RollbackErrs = append(se.RollbackErrs, fmt.Errorf("%s: %w", r.Name, rerr))
			}
		}
		return se
	}
	return nil
}

// RunAll runs every action's Apply regardless of failures (for undo, where
// stopping half-way would leave more behind) and returns all errors joined.
func RunAll(ctx context.Context, actions []Action, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	var errs []error
	for i, a := range actions {
		fmt.Fprintf(progress, "[%d/%d] %s\n", i+1, len(actions), a.Name)
		if err := a.Apply(ctx); err != nil {
			fmt.Fprintf(progress, "  failed: %v\n", err)
			errs = append(errs, fmt.Errorf("%s: %w", a.Name, err))
		}
	}
	return errors.Join(errs...)
}
