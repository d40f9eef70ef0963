package proc

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/sbxdev/sbx/core"
)

// sysRun is the Windows part of a run: the job object holding the tree.
type sysRun struct {
	job windows.Handle
}

// close closes the job; with KILL_ON_JOB_CLOSE that also kills whatever
// is still in it.
func (s *sysRun) close() {
	if s.job != 0 {
		_ = windows.CloseHandle(s.job)
		s.job = 0
	}
}

// BecomeSubreaper does nothing on Windows: the job object plays that role.
func BecomeSubreaper() error { return nil }

// setup refuses a TTY (ConPTY is not wired up yet) and starts the command
// suspended, in a new process group (so that SIGINT can be delivered as
// CTRL_BREAK_EVENT to it alone). started puts it in a job, then resumes it.
func (r *run) setup() error {
	if r.s.TTY != nil {
		return fmt.Errorf("%w: a terminal (TTY) for the command is not supported on Windows yet; run without --tty", core.ErrUnsupported)
	}
	r.cmd.SysProcAttr = &syscall.SysProcAttr{
		CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_SUSPENDED,
	}
	return nil
}

// checkAttr checks that Spec.Configure kept the creation flags setup set:
// without CREATE_SUSPENDED the command would run before it is in the job.
func (r *run) checkAttr() error {
	const want = windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_SUSPENDED
	if a := r.cmd.SysProcAttr; a == nil || a.CreationFlags&want != want {
		return fmt.Errorf("proc: Spec.Configure of %s dropped CREATE_SUSPENDED or CREATE_NEW_PROCESS_GROUP; it must keep the flags proc sets", r.s.Argv[0])
	}
	return nil
}

func (r *run) startChild() error { return r.cmd.Start() }
func (r *run) childWaited()      {}
func (r *run) release()          {}

// started contains the (still suspended) command in a kill-on-close job
// and resumes it; see contain. The tree guarantee fails closed: if the job
// cannot be set up, the command, which has not run, is terminated.
func (r *run) started() error {
	job, err := contain(winJobs{}, r.pid, r.s.Argv[0])
	r.sys.job = windows.Handle(job)
	return err
}

// winJobs is the real jobOS.
type winJobs struct{}

func (winJobs) createJob() (uintptr, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, err
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return 0, err
	}
	return uintptr(job), nil
}

func (winJobs) assign(job uintptr, pid int) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	return windows.AssignProcessToJobObject(windows.Handle(job), h)
}

func (winJobs) resume(pid int) error { return resumeThreads(uint32(pid)) }

func (winJobs) kill(pid int) error {
	h, err := windows.OpenProcess(windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	return windows.TerminateProcess(h, 1)
}

// resumeThreads resumes the threads of a process started suspended (its
// main thread: os/exec does not hand out the thread handle).
func resumeThreads(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return err
		}
		_, rerr := windows.ResumeThread(th)
		_ = windows.CloseHandle(th)
		if rerr != nil {
			return rerr
		}
		resumed++
	}
	if resumed == 0 {
		return fmt.Errorf("no thread found for process %d", pid)
	}
	return nil
}

// signal maps a signal: SIGINT becomes CTRL_BREAK_EVENT for the command's
// process group (CTRL_C_EVENT cannot be aimed at one group), anything else
// terminates the whole job with exit code 128+N.
func (r *run) signal(sig core.Signal) error {
	if sig == core.SIGINT {
		return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(r.pid))
	}
	return r.terminate(128 + int(sig))
}

// terminate ends every process of the job.
func (r *run) terminate(code int) error {
	if r.sys.job == 0 {
		if r.waited.Load() {
			return nil
		}
		return r.cmd.Process.Kill()
	}
	return windows.TerminateJobObject(r.sys.job, uint32(code))
}

// resize does nothing: there is no pty on Windows yet.
func (r *run) resize(core.WindowSize) error { return nil }

// defaultKillTree terminates the job.
func (r *run) defaultKillTree() { _ = r.terminate(128 + int(core.SIGKILL)) }

// reapOrphans does nothing on Windows: there are no zombies.
func reapOrphans() {}

// waitStatus is the exit code: Windows has no signals.
func waitStatus(ws syscall.WaitStatus) (int, core.Signal) { return ws.ExitStatus(), 0 }
