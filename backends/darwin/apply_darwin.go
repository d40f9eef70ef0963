//go:build darwin

package darwin

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/sdk/proc"
)

// ready refuses when sandbox-exec is missing or cannot apply a profile here
// (inside another sandbox), with the reason, rather than letting the
// command fail obscurely. The probe runs once per plugin process.
func ready(context.Context) error {
	probeOnce()
	if !probeResult.available {
		return fmt.Errorf("%w: %s", core.ErrUnavailable, probeResult.unavailable)
	}
	return nil
}

// run starts the command under prof with sandbox-exec (through the limits
// helper when the policy limits processes) and waits for it. The plan has
// been checked against the run's acceptance already.
func run(ctx context.Context, req *core.RunRequest, prof *Profile) (*core.RunResult, error) {
	if len(req.Argv) == 0 {
		return nil, fmt.Errorf("%w: no command given: pass the program to run and its arguments", core.ErrInvalidPolicy)
	}
	argv := commandLine(prof, req.Argv)
	path := SandboxExec
	if n := req.Policy.Limits.Pids; n > 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("%w: find this plugin's binary to set the process limit: %w", core.ErrUnavailable, err)
		}
		argv = helperCommandLine(exe, helperArgs{extraProcs: n, argv: argv})
		path = exe
	}

	// The request as it is (directory, environment, streams, timeout),
	// started through sandbox-exec (or the limits helper).
	spec := proc.FromRequest(req)
	spec.Argv, spec.Path = argv, path
	// The tree kill needs to know whether the pid it is given is still
	// the command (and not a reused pid): remember its start time.
	var start unix.Timeval
	spec.AfterStart = func(pid int) error {
		if kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid); err == nil {
			start = kp.Proc.P_starttime
		}
		return nil
	}
	spec.KillTree = func(pid int) { killTree(pid, start) }
	return proc.Run(ctx, spec)
}

// killTree kills the command's tree: it stops every process of it (so that
// none can fork while we look), looks again until no new one appears, then
// kills them all and the process group. start is the command's start time,
// telling whether pid is still the command.
func killTree(pid int, start unix.Timeval) {
	stopped := map[int]bool{}
	for round := 0; round < 8; round++ {
		procs, alive, err := snapshot(pid, start)
		if err != nil {
			break
		}
		fresh := 0
		for _, p := range treeOf(procs, pid, alive) {
			if !stopped[p] {
				stopped[p] = true
				fresh++
				_ = unix.Kill(p, unix.SIGSTOP)
			}
		}
		if alive {
			_ = unix.Kill(pid, unix.SIGSTOP)
		}
		if fresh == 0 {
			break
		}
	}
	_ = unix.Kill(-pid, unix.SIGKILL)
	for p := range stopped {
		_ = unix.Kill(p, unix.SIGKILL)
	}
	if _, alive, err := snapshot(pid, start); err == nil && alive {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// snapshot reads the process table, and tells whether pid is still the
// process that started at start.
func snapshot(pid int, start unix.Timeval) ([]procEntry, bool, error) {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, false, err
	}
	procs := make([]procEntry, 0, len(kps))
	alive := false
	for i := range kps {
		kp := &kps[i]
		e := procEntry{pid: int(kp.Proc.P_pid), ppid: int(kp.Eproc.Ppid), pgid: int(kp.Eproc.Pgid)}
		if e.pid == pid && kp.Proc.P_starttime == start && start != (unix.Timeval{}) {
			alive = true
		}
		procs = append(procs, e)
	}
	return procs, alive, nil
}
