package core

import (
	"context"
	"encoding/json"
	"io"
	"time"
)

// Backend is one way of sandboxing a command: a mode of a backend plugin
// ("linux-landlock", "windows-elevated", "none"). Implementations must be
// safe for concurrent use.
//
// A Backend never weakens a policy silently: Plan reports the strength of
// every element, and Run refuses (with *NotEnforcedError) when the report
// is weaker than the request's Acceptance allows.
type Backend interface {
	// Info describes the backend and whether it can run on this host now.
	Info(ctx context.Context) (Info, error)
	// Plan says what Run would do for p, without doing it.
	Plan(ctx context.Context, p Policy) (*Plan, error)
	// Run runs a command under the policy and waits for it.
	Run(ctx context.Context, req *RunRequest) (*RunResult, error)
}

// Setuper is implemented by backends that need a one-time setup (users,
// firewall rules, ACLs) before they can run.
type Setuper interface {
	// Setup performs (or, with Undo, removes) the one-time setup, writing
	// progress lines to progress.
	Setup(ctx context.Context, req SetupRequest, progress io.Writer) error
	// SetupStatus says what is in place.
	SetupStatus(ctx context.Context) (SetupStatus, error)
}

// SetupRequest selects what Setup does.
type SetupRequest struct {
	// Undo removes everything the setup put in place.
	Undo bool `json:"undo,omitempty"`
	// Policy, when set, is the policy the setup prepares for (writable
	// roots that need ACLs, for example).
	Policy *Policy `json:"policy,omitempty"`
}

// SetupStatus says what part of a one-time setup is in place.
type SetupStatus struct {
	// Done is true when the backend can run without further setup.
	Done bool `json:"done"`
	// Version is the setup version found on the host, 0 if none.
	Version int `json:"version"`
	// Want is the setup version this backend needs.
	Want int `json:"want"`
	// Items lists each piece of the setup and whether it is there.
	Items []SetupItem `json:"items,omitempty"`
}

// SetupItem is one piece of a one-time setup.
type SetupItem struct {
	Name    string `json:"name"`
	Present bool   `json:"present"`
	Detail  string `json:"detail,omitempty"`
}

// Info describes a backend: what it is, what it can enforce on this host,
// and whether it can run here now.
type Info struct {
	// Name is the backend (mode) name, as given to --backend.
	Name string `json:"name"`
	// Description is one line for `sbx backends`.
	Description string `json:"description"`
	// OS is the GOOS the backend runs on ("linux", "windows", "darwin",
	// or "any").
	OS string `json:"os"`
	// Available is true when Run can work on this host now.
	Available bool `json:"available"`
	// Unavailable says why not and what to do, when Available is false.
	Unavailable string `json:"unavailable,omitempty"`
	// NeedsSetup is true when the backend needs a one-time setup.
	NeedsSetup bool `json:"needs_setup,omitempty"`
	// Capabilities says how strongly each boundary is held on this host.
	Capabilities Capabilities `json:"capabilities"`
	// Facts are what the backend found when probing the host
	// ("landlock_abi": "7", "user_namespaces": "yes"), for `sbx backends`.
	Facts map[string]string `json:"facts,omitempty"`
}

// Capabilities says how strongly a backend holds each boundary on this
// host, at best. A policy-specific answer comes from Plan.
type Capabilities struct {
	// Write: writes outside writable roots refused.
	Write Strength `json:"write"`
	// Protected: protected names inside writable roots kept read-only.
	Protected Strength `json:"protected"`
	// Read: reads restricted to listed paths (when the policy asks).
	Read Strength `json:"read"`
	// Network: network denied (when the policy asks).
	Network Strength `json:"network"`
	// Limits: memory, process and CPU limits.
	Limits Strength `json:"limits"`
	// ProcessTree: the whole process tree dies with the run.
	ProcessTree Strength `json:"process_tree"`
	// TTY: an interactive command gets a terminal.
	TTY bool `json:"tty"`
}

// Plan is what a backend would do for a policy: the report of strengths and
// the exact steps (rules, mounts, ACEs, environment changes).
type Plan struct {
	// Backend is the backend name.
	Backend string `json:"backend"`
	// Report lists every element with its strength.
	Report Report `json:"report"`
	// Steps are the actions, in order, for people to read.
	Steps []Step `json:"steps"`
	// Detail is the backend's own plan as JSON (the same content as Steps,
	// as data), for `sbx explain --json`.
	Detail json.RawMessage `json:"detail,omitempty"`
	// Handle is the backend's own plan in memory, set by its Plan for its
	// Run (see RunRequest.Plan). It never leaves the process: not encoded,
	// not sent to a host.
	Handle any `json:"-"`
}

// Step is one action of a plan.
type Step struct {
	// Layer is the mechanism ("mount", "landlock", "seccomp", "cgroup",
	// "acl", "token", "firewall", "env", "sbpl").
	Layer string `json:"layer"`
	// Action is what is done ("bind read-write", "deny socket").
	Action string `json:"action"`
	// Target is what it is done to (a path, a syscall, a variable).
	Target string `json:"target,omitempty"`
	// Value is an extra parameter (a flag set, a value).
	Value string `json:"value,omitempty"`
}

// Signal is a POSIX signal number (2 = SIGINT, 15 = SIGTERM, ...). Backends
// on other platforms map them: on Windows SIGINT becomes CTRL_C_EVENT and
// SIGKILL/SIGTERM terminate the job.
type Signal int

// Well-known signals, with their Linux numbers.
const (
	SIGHUP  Signal = 1
	SIGINT  Signal = 2
	SIGQUIT Signal = 3
	SIGKILL Signal = 9
	SIGTERM Signal = 15
)

// WindowSize is a terminal size.
type WindowSize struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// RunRequest is a command to run under a policy.
type RunRequest struct {
	// Policy is what the command may do. It has been validated.
	Policy Policy
	// Accept says which downgrades the run accepts.
	Accept Acceptance
	// Plan, when not nil, is what this backend's Plan returned for Policy
	// just before the run, and whose report the caller checked (the SDK
	// plans first to send the report to the host). A backend that
	// recognises it (Plan.Handle) applies it instead of planning again,
	// so the run does exactly what the accepted report says; it still
	// checks the report against Accept. Backends may ignore it.
	Plan *Plan
	// Argv is the command and its arguments; Argv[0] is looked up in PATH
	// (of the command's environment) when it has no path separator.
	Argv []string
	// Dir is the working directory (the workspace when empty).
	Dir string
	// Env is the caller's environment ("K=V"); the backend applies
	// Policy.Env to it (see [BuildEnv]).
	Env []string
	// Umask, when non-nil, is the file mode creation mask the command
	// starts with (the caller's); nil means the backend's own. A backend
	// that serves many callers from one long-lived process (a plugin agent)
	// must apply it: its own mask is whatever its first caller had.
	Umask *uint32
	// Stdin, Stdout and Stderr are the command's standard streams. When
	// they are *os.File the backend should hand them to the command as they
	// are (no copying); otherwise it copies. Nil means /dev/null.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// TTY, when non-nil, asks for the command to run on a new pseudo
	// terminal of this initial size: Stdin, Stdout (and Stderr) are then
	// the caller's terminal side, the backend relays bytes between them and
	// the pty, and Ctrl-C, job control and line editing work inside.
	TTY *WindowSize
	// Resize delivers terminal size changes (with TTY).
	Resize <-chan WindowSize
	// Signals delivers signals to forward to the command's process group.
	Signals <-chan Signal
	// Started, when non-nil, is called once the command is running, with
	// its process id on the backend's host.
	Started func(pid int)
	// Stderr for sbx's own warnings about the run (downgrades); nil means
	// discard. Distinct from the command's Stderr.
	Diagnostics io.Writer
}

// WorkDir is the directory the command starts in: Dir, or the policy's
// workspace when Dir is empty.
func (r *RunRequest) WorkDir() string {
	if r.Dir != "" {
		return r.Dir
	}
	return r.Policy.Workspace
}

// RunResult is how a command ended.
type RunResult struct {
	// ExitCode is the command's exit status; for a command killed by a
	// signal it is 128+N, as POSIX shells report it.
	ExitCode int `json:"exit_code"`
	// Signal is the signal that killed the command, 0 if it exited.
	Signal Signal `json:"signal,omitempty"`
	// TimedOut is true when Policy.Limits.Timeout ended the run.
	TimedOut bool `json:"timed_out,omitempty"`
	// LimitExceeded names a limit the command hit ("memory", "pids"),
	// when one ended the run.
	LimitExceeded string `json:"limit_exceeded,omitempty"`
	// Duration is the command's wall time.
	Duration time.Duration `json:"duration"`
	// Report is the report the run was made under.
	Report Report `json:"report"`
}

// TimeoutExitCode is the exit status of a run ended by its timeout, as
// timeout(1) reports it.
const TimeoutExitCode = 124
