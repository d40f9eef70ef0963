package proc

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// BecomeSubreaper makes this process a child subreaper: orphans of the
// trees it runs (a daemon that double-forked, a process whose parent was
// killed first) are reparented to it instead of to init, so the tree kill
// still finds them, and Run reaps them. Plugins call it once at start;
// calling it again is harmless.
func BecomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_SET_CHILD_SUBREAPER)", err)
	}
	return nil
}

// setPdeathsig makes the kernel SIGKILL the command if the thread that
// started it dies (launch keeps that thread locked for the child's life), so
// a crashed plugin does not leave its command running.
func setPdeathsig(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}

// checkPdeathsig checks that Spec.Configure kept the parent-death signal.
func checkPdeathsig(name string, a *syscall.SysProcAttr) error {
	if a.Pdeathsig != syscall.SIGKILL {
		return fmt.Errorf("proc: Spec.Configure of %s changed Pdeathsig; it must keep the attributes proc sets", name)
	}
	return nil
}

// pollableMaster returns the pty master in non-blocking mode, registered
// with Go's poller, so that a read blocked on it can be given a deadline
// (pty.Open hands it over in blocking mode).
func pollableMaster(f *os.File) *os.File {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return f
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return f
	}
	_ = f.Close()
	return os.NewFile(uintptr(fd), "/dev/ptmx")
}

// waitReadable waits until fd or stop is readable (or hung up); stopped
// says stop was.
func waitReadable(fd, stop int) (stopped bool, err error) {
	fds := []unix.PollFd{{Fd: int32(stop), Events: unix.POLLIN}, {Fd: int32(fd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, err
		}
		return fds[0].Revents != 0, nil
	}
}
