package proc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
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
	subreaper.Store(true)
	return nil
}

// subreaper records that BecomeSubreaper succeeded.
var subreaper atomic.Bool

// orphansAdopted reports whether orphans of the runs are reparented to this
// process (it is a subreaper) rather than to init.
func orphansAdopted() bool { return subreaper.Load() }

// selfChildren lists this process's children from
// /proc/self/task/TID/children (one small file per thread, instead of the
// whole process table). ok is false when that cannot be relied on: this
// process is not a subreaper (orphans would go to init, out of sight) or
// the files are missing.
//
// It runs after every command, so it reads with plain system calls: os
// would register each /proc file with the poller and stat it, about three
// times the calls for the same bytes.
func selfChildren() (kids []int, ok bool) {
	if !subreaper.Load() {
		return nil, false
	}
	dir, err := unix.Open("/proc/self/task", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(dir)
	tids, err := dirNames(dir)
	if err != nil {
		return nil, false
	}
	leader := strconv.Itoa(os.Getpid())
	buf := make([]byte, 512)
	for _, t := range tids {
		var b []byte
		b, buf, err = readProcFile(dir, t+"/children", buf)
		if err != nil {
			// Another thread may have ended meanwhile (its children went
			// to a live thread). The leader, where orphans are
			// reparented, never ends: its file missing means a kernel
			// without CONFIG_PROC_CHILDREN, and an empty list could not
			// be trusted.
			if errors.Is(err, unix.ENOENT) && t != leader {
				continue
			}
			return nil, false
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				kids = append(kids, pid)
			}
		}
	}
	return kids, true
}

// dirNames lists the entries of the directory open at fd.
func dirNames(fd int) ([]string, error) {
	var names []string
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// readProcFile reads the whole of the /proc file at path, relative to the
// directory open at dir, into buf (grown as needed) and returns the bytes
// read and the buffer.
func readProcFile(dir int, path string, buf []byte) (data, grown []byte, err error) {
	fd, err := unix.Openat(dir, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, buf, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...)
		}
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, buf, err
		}
		if m == 0 {
			return buf[:n], buf, nil
		}
		n += m
	}
}

// setPdeathsig makes the kernel SIGKILL the command if the thread that
// started it dies (Run keeps that thread locked for the child's life), so
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
