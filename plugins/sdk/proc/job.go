package proc

import (
	"fmt"

	"github.com/sbxdev/sbx/core"
)

// jobOS is the part of Windows the job launch needs: thin wrappers over
// job-object calls (job_windows.go), replaced by a fake in tests so that
// the sequence is tested on every OS.
type jobOS interface {
	// createJob creates a job object whose processes die when its last
	// handle is closed (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE).
	createJob() (job uintptr, err error)
	// assign puts process pid into the job.
	assign(job uintptr, pid int) error
	// resume resumes the threads of process pid, started suspended.
	resume(pid int) error
	// kill terminates process pid (not yet in a job).
	kill(pid int) error
}

// contain puts a command started suspended into a new kill-on-close job,
// then resumes it, so that every process it creates is in the job from its
// first instruction. On failure the command, which has not run, is killed
// and the error wraps core.ErrUnsupported; the job, if one was created, is
// returned either way for the caller to close.
func contain(o jobOS, pid int, name string) (job uintptr, err error) {
	fail := func(what string, err error) (uintptr, error) {
		_ = o.kill(pid)
		return job, fmt.Errorf("%w: %s for %s: %w", core.ErrUnsupported, what, name, err)
	}
	if job, err = o.createJob(); err != nil {
		return fail("create a job object", err)
	}
	if err := o.assign(job, pid); err != nil {
		return fail("put the process in a job object", err)
	}
	if err := o.resume(pid); err != nil {
		return fail("resume the process", err)
	}
	return job, nil
}
