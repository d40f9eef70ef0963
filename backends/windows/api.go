package windows

import (
	"context"
)

// Handle is an OS handle (a HANDLE on Windows). The interfaces below pass
// handles around as opaque values so that fakes can track them.
type Handle uintptr

// The Win32 calls the backend makes, grouped by subject. Real
// implementations live in *_windows.go; tests use fakes that record calls.
// Every method that returns a Handle hands its ownership to the caller, who
// must Close it.

// TokenAPI builds the restricted token.
type TokenAPI interface {
	// OpenSelf opens the calling process's primary token
	// (OpenProcessToken with DUPLICATE|QUERY|ASSIGN_PRIMARY|ADJUST_DEFAULT).
	OpenSelf() (Handle, error)
	// Restrict calls CreateRestrictedToken(tok, flags, denyOnly as
	// SidsToDisable, no privileges to delete beyond what flags remove,
	// restricting as SidsToRestrict).
	Restrict(tok Handle, flags uint32, denyOnly, restricting []string) (Handle, error)
	// SetDefaultDACL sets TokenDefaultDacl from an SDDL "D:..." string.
	SetDefaultDACL(tok Handle, sddl string) error
	// Close closes a token handle.
	Close(h Handle) error
}

// JobAPI manages the Job object.
type JobAPI interface {
	// CreateJob creates an unnamed Job object.
	CreateJob() (Handle, error)
	// SetLimits applies the plan's limits, UI restrictions and CPU rate.
	SetLimits(job Handle, j JobPlan) error
	// Assign puts a process in the job.
	Assign(job, process Handle) error
	// TerminateJob ends every process in the job with code.
	TerminateJob(job Handle, code uint32) error
	// Close closes a job handle (KILL_ON_JOB_CLOSE ends the processes).
	Close(h Handle) error
}

// ChildSpec is what CreateProcessAsUserW needs.
type ChildSpec struct {
	Argv    []string
	Dir     string
	Env     []string
	Desktop string
	// Stdin, Stdout and Stderr are inheritable handles (or 0); they are
	// the only handles the child inherits (PROC_THREAD_ATTRIBUTE_HANDLE_LIST).
	Stdin, Stdout, Stderr Handle
	// PseudoConsole, when non-zero, attaches a ConPTY instead.
	PseudoConsole Handle
	// Flags are the creation flags; they must include CREATE_SUSPENDED.
	Flags uint32
}

// Process is a created process.
type Process struct {
	Process Handle
	Thread  Handle
	PID     uint32
}

// ProcessAPI creates and watches the command.
type ProcessAPI interface {
	// CreateAsUser starts the command with tok, suspended.
	CreateAsUser(tok Handle, spec ChildSpec) (Process, error)
	// Resume resumes a suspended thread.
	Resume(thread Handle) error
	// TerminateProcess ends one process.
	TerminateProcess(proc Handle, code uint32) error
	// Wait blocks until proc exits and returns its exit code. It must
	// return when the process is ended by TerminateJob.
	Wait(proc Handle) (uint32, error)
	// CtrlBreak sends CTRL_BREAK_EVENT to the process group of pid.
	CtrlBreak(pid uint32) error
	// Close closes a process or thread handle.
	Close(h Handle) error
}

// ACLAPI reads and changes DACLs.
type ACLAPI interface {
	// GetDACL returns the DACL of path as SDDL ("D:...").
	GetDACL(path string) (string, error)
	// AddACEs merges aces into path's DACL (SetEntriesInAclW with
	// GRANT_ACCESS / DENY_ACCESS, then SetNamedSecurityInfoW). Only the
	// setup uses it, for single grants; ApplyACEs composes the DACL
	// itself and calls SetDACL (see ApplyACEs for why).
	AddACEs(path string, aces []ACE) error
	// SetDACL replaces path's explicit DACL with sddl ("D:" or "D:P"
	// followed by explicit ACEs); inherited ACEs are recomputed.
	SetDACL(path, sddl string) error
}

// UserAPI manages the local accounts of the elevated setup.
type UserAPI interface {
	CreateGroup(name, comment string) (sid string, err error)
	DeleteGroup(name string) error
	CreateUser(name, password, comment string) (sid string, err error)
	SetPassword(name, password string) error
	DeleteUser(name string) error
	AddToGroup(group, user string) error
	// CreateProfile logs the user on once with LOGON_WITH_PROFILE so
	// that its profile (and %TEMP%) exists; it returns the profile dir.
	CreateProfile(name, password string) (string, error)
	// DeleteProfile removes the user's profile (DeleteProfileW).
	DeleteProfile(sid string) error
}

// FirewallAPI installs the WFP objects of the elevated setup.
type FirewallAPI interface {
	// Install adds sbx's persistent provider, sublayer and filters in one
	// transaction.
	Install(filters []WFPFilter) error
	// Uninstall removes every WFP object of sbx's provider (idempotent).
	Uninstall() error
	// Installed counts sbx's filters present.
	Installed() (int, error)
}

// Waiter lets tests observe blocking: Wait calls run in goroutines.
type waitResult struct {
	code uint32
	err  error
}

// waitAsync runs api.Wait in a goroutine.
func waitAsync(api ProcessAPI, proc Handle) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		code, err := api.Wait(proc)
		ch <- waitResult{code, err}
	}()
	return ch
}

// ctxDone is a helper for selects with a nil context.
func ctxDone(ctx context.Context) <-chan struct{} {
	if ctx == nil {
		return nil
	}
	return ctx.Done()
}
