package windows

import (
	"context"
	"fmt"
	"time"

	"github.com/sbxdev/sbx/core"
)

// LaunchAPIs are the OS calls of a confined launch.
type LaunchAPIs struct {
	Token   TokenAPI
	Job     JobAPI
	Process ProcessAPI
}

// LaunchSpec is one confined launch: the token and job from the plan, and
// the child.
type LaunchSpec struct {
	TokenFlags      uint32
	DenyOnlySIDs    []string
	RestrictingSIDs []string
	DefaultDACL     string
	Job             JobPlan
	Child           ChildSpec
}

// Launched is a running, confined command. The caller owns both handles:
// closing Job kills whatever is left of the tree.
type Launched struct {
	Job     Handle
	Process Handle
	PID     uint32
}

// Launch starts a command confined by a restricted token and a Job object,
// in this order, and fails closed at every step:
//
//  1. OpenSelf, Restrict, SetDefaultDACL: the restricted token;
//  2. CreateJob, SetLimits: the job, with its limits, before any process;
//  3. CreateAsUser with CREATE_SUSPENDED: the child exists but runs no
//     instruction;
//  4. Assign: the child enters the job; if that fails it is terminated
//     without ever having run;
//  5. Resume: only now does it run, already inside the job.
//
// The tokens and the thread handle are closed before Launch returns; on
// error every handle it opened is closed.
func Launch(api LaunchAPIs, s LaunchSpec) (l *Launched, err error) {
	if s.Child.Flags&CreateSuspended == 0 {
		return nil, fmt.Errorf("launch: the child must be created suspended (a bug in the caller)")
	}
	self, err := api.Token.OpenSelf()
	if err != nil {
		return nil, fmt.Errorf("open own token: %w", err)
	}
	defer api.Token.Close(self)
	tok, err := api.Token.Restrict(self, s.TokenFlags, s.DenyOnlySIDs, s.RestrictingSIDs)
	if err != nil {
		return nil, fmt.Errorf("CreateRestrictedToken: %w", err)
	}
	defer api.Token.Close(tok)
	if err := api.Token.SetDefaultDACL(tok, s.DefaultDACL); err != nil {
		return nil, fmt.Errorf("set the token's default DACL: %w", err)
	}

	job, err := api.Job.CreateJob()
	if err != nil {
		return nil, fmt.Errorf("CreateJobObject: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			api.Job.Close(job)
		}
	}()
	if err := api.Job.SetLimits(job, s.Job); err != nil {
		return nil, fmt.Errorf("set the job's limits: %w", err)
	}

	p, err := api.Process.CreateAsUser(tok, s.Child)
	if err != nil {
		return nil, fmt.Errorf("CreateProcessAsUser: %w", err)
	}
	defer api.Process.Close(p.Thread)
	if err := api.Job.Assign(job, p.Process); err != nil {
		// The child never ran: it was created suspended.
		api.Process.TerminateProcess(p.Process, 1)
		api.Process.Close(p.Process)
		return nil, fmt.Errorf("AssignProcessToJobObject: %w (the command was not started)", err)
	}
	if err := api.Process.Resume(p.Thread); err != nil {
		api.Job.TerminateJob(job, 1)
		api.Process.Close(p.Process)
		return nil, fmt.Errorf("ResumeThread: %w", err)
	}
	ok = true
	return &Launched{Job: job, Process: p.Process, PID: p.PID}, nil
}

// SuperviseOptions are what Supervise watches besides the process.
type SuperviseOptions struct {
	// Timeout ends the run (exit 124) when positive.
	Timeout time.Duration
	// Signals are forwarded: SIGINT as CTRL_BREAK, others end the job.
	Signals <-chan core.Signal
	// Clock makes timeouts testable; nil means time.After.
	After func(time.Duration) <-chan time.Time
}

// Supervise waits for a launched command, forwarding signals and enforcing
// the timeout and ctx cancellation by terminating the whole job. It closes
// the process and job handles before returning.
func Supervise(ctx context.Context, api LaunchAPIs, l *Launched, o SuperviseOptions) (*core.RunResult, error) {
	defer api.Job.Close(l.Job)
	defer api.Process.Close(l.Process)
	start := time.Now()
	done := waitAsync(api.Process, l.Process)
	after := o.After
	if after == nil {
		after = time.After
	}
	var timeout <-chan time.Time
	if o.Timeout > 0 {
		timeout = after(o.Timeout)
	}
	res := &core.RunResult{}
	var runErr error
	for {
		select {
		case w := <-done:
			res.Duration = time.Since(start)
			if w.err != nil {
				return nil, fmt.Errorf("wait for the command: %w", w.err)
			}
			if !res.TimedOut && res.Signal == 0 {
				res.ExitCode = int(w.code)
			}
			return res, runErr
		case <-timeout:
			timeout = nil
			res.TimedOut = true
			res.ExitCode = core.TimeoutExitCode
			api.Job.TerminateJob(l.Job, core.TimeoutExitCode)
		case <-ctxDone(ctx):
			ctx = nil
			runErr = fmt.Errorf("run canceled: %w", core.ErrCanceled)
			res.Signal = core.SIGKILL
			res.ExitCode = 128 + int(core.SIGKILL)
			api.Job.TerminateJob(l.Job, uint32(res.ExitCode))
		case sig, ok := <-o.Signals:
			if !ok {
				o.Signals = nil
				continue
			}
			if sig == core.SIGINT {
				if err := api.Process.CtrlBreak(l.PID); err == nil {
					continue
				}
			}
			res.Signal = sig
			res.ExitCode = 128 + int(sig)
			api.Job.TerminateJob(l.Job, uint32(res.ExitCode))
		}
	}
}
