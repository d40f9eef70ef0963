package windows

import (
	"errors"
	"fmt"

	"github.com/sbxdev/sbx/core"
)

// errNotWindows is returned by the operations that need a Windows host
// (Run, Setup) on other systems. It matches core.ErrUnsupported.
var errNotWindows = fmt.Errorf("the Windows backend runs commands only on Windows (plans work everywhere): %w", core.ErrUnsupported)

// ErrUACCancelled is returned when the user declined the elevation prompt of
// the setup (Win32 error 1223, ERROR_CANCELLED). It matches
// core.ErrPermission.
var ErrUACCancelled = fmt.Errorf("the administrator prompt (UAC) was cancelled; run `sbx setup --backend=windows-elevated` again and accept it: %w", core.ErrPermission)

// StepError says which step of a sequence failed and whether its rollback
// worked. It unwraps to the step's error.
type StepError struct {
	// Step is the name of the failed step.
	Step string
	// Err is the step's error.
	Err error
	// RollbackErrs are the errors of rollbacks that failed (each names
	// its step); empty when everything was undone.
	RollbackErrs []error
}

// Error says which step failed and why.
func (e *StepError) Error() string {
	s := fmt.Sprintf("step %q failed: %v", e.Step, e.Err)
	if len(e.RollbackErrs) > 0 {
		s += fmt.Sprintf("; rollback incomplete: %v (run `sbx setup --undo` to finish)", errors.Join(e.RollbackErrs...))
	}
	return s
}

// Unwrap returns the step's error.
func (e *StepError) Unwrap() error { return e.Err }
