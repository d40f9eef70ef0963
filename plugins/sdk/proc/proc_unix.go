//go:build unix

package proc

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
)

// sysRun is the Unix part of a run: the pty master, with a TTY.
type sysRun struct {
	master *os.File
}

func (s *sysRun) close() {}

// setup puts the command in a new session (and, with a TTY, on a new pty
// as its controlling terminal) and sets the Linux parent-death signal.
func (r *run) setup() error {
	attr := &syscall.SysProcAttr{Setsid: true}
	setPdeathsig(attr)
	r.cmd.SysProcAttr = attr
	if r.s.TTY == nil {
		return nil
	}
	master, slave, err := pty.Open()
	if err != nil {
		return fmt.Errorf("%w: open a pseudo terminal: %w", core.ErrUnsupported, err)
	}
	ws := &pty.Winsize{Rows: r.s.TTY.Rows, Cols: r.s.TTY.Cols}
	if err := pty.Setsize(master, ws); err != nil {
		_ = master.Close()
		_ = slave.Close()
		return fmt.Errorf("set the pseudo terminal's size: %w", err)
	}
	master = pollableMaster(master)
	r.sys.master = master
	r.childEnds = append(r.childEnds, slave)
	r.cmd.Stdin, r.cmd.Stdout, r.cmd.Stderr = slave, slave, slave
	// The slave is the child's fd 0; it becomes the controlling terminal of
	// the new session.
	attr.Setctty, attr.Ctty = true, 0

	if in := r.s.Stdin; in != nil {
		var stop *os.File
		if _, ok := in.(*os.File); ok {
			// Closing stopW (with the parent ends, when Run ends) wakes
			// the relay up; the relay closes stopR itself.
			stopR, stopW, err := os.Pipe()
			if err != nil {
				return fmt.Errorf("stdin relay: %w", err)
			}
			stop = stopR
			r.parentEnds = append(r.parentEnds, stopW)
		}
		r.relays = append(r.relays, func() {
			// Bytes typed by the caller go to the pty, where the line
			// discipline turns ^C into SIGINT for the foreground group.
			_ = copyInput(master, in, stop)
		})
	}
	out := r.s.Stdout
	if out == nil {
		out = io.Discard
	}
	// The master returns EIO once every holder of the slave is gone: that
	// is the relay's EOF.
	r.addOutput(master, out)
	return nil
}

// checkAttr checks that Spec.Configure kept what setup set.
func (r *run) checkAttr() error {
	a := r.cmd.SysProcAttr
	switch {
	case a == nil || !a.Setsid:
		return fmt.Errorf("proc: Spec.Configure of %s dropped Setsid; it must keep the attributes proc sets", r.s.Argv[0])
	case r.s.TTY != nil && (!a.Setctty || a.Ctty != 0):
		return fmt.Errorf("proc: Spec.Configure of %s changed Setctty/Ctty; it must keep the attributes proc sets", r.s.Argv[0])
	}
	return checkPdeathsig(r.s.Argv[0], a)
}

// startChild starts the command (see launch for the thread it runs on).
func (r *run) startChild() error {
	lockRegistry()
	defer unlockRegistry()
	if err := r.cmd.Start(); err != nil {
		return err
	}
	register(r.cmd.Process.Pid)
	return nil
}

// started finishes the platform's part of starting; nothing on Unix.
func (r *run) started() error { return nil }

// signal forwards sig to the pty's foreground process group with a TTY (the
// job the user is looking at), else to the command's process group (its
// pid: setsid made it a group leader).
func (r *run) signal(sig core.Signal) error {
	target := -r.pid
	if r.sys.master != nil {
		if pgrp, err := foregroundGroup(r.sys.master); err == nil && pgrp > 0 {
			target = -pgrp
		}
	}
	return unix.Kill(target, syscall.Signal(sig))
}

// resize applies a window size to the pty; the kernel sends SIGWINCH to its
// foreground process group.
func (r *run) resize(ws core.WindowSize) error {
	if r.sys.master == nil {
		return nil
	}
	return control(r.sys.master, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Rows, Col: ws.Cols})
	})
}

// foregroundGroup returns the foreground process group of the pty.
func foregroundGroup(master *os.File) (int, error) {
	var pgrp int
	err := control(master, func(fd int) error {
		var err error
		pgrp, err = unix.IoctlGetInt(fd, unix.TIOCGPGRP)
		return err
	})
	return pgrp, err
}

// control runs fn on f's descriptor without f.Fd(), which would switch f
// back to blocking mode.
func control(f *os.File, fn func(fd int) error) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := sc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// waitStatus is the default mapping of a wait status: the exit code, or
// 128+N and N for a death by signal N.
func waitStatus(ws syscall.WaitStatus) (int, core.Signal) {
	if ws.Signaled() {
		return 128 + int(ws.Signal()), core.Signal(ws.Signal())
	}
	return ws.ExitStatus(), 0
}

// copyInput relays the caller's input to the pty master until either side
// fails or ends. When in is an *os.File (typically the caller's terminal,
// in blocking mode) a plain read could not be interrupted, and the relay
// would outlive the run and swallow the caller's next keystroke: each read
// then first waits for the file or for stop (closed when the run ends) to be
// readable, without changing the file's flags.
func copyInput(master *os.File, in io.Reader, stop *os.File) error {
	f, ok := in.(*os.File)
	if !ok || stop == nil {
		_, err := io.Copy(master, in)
		return err
	}
	defer stop.Close()
	sc, err := f.SyscallConn()
	if err != nil {
		_, err := io.Copy(master, in)
		return err
	}
	stopFd := -1
	if err := control(stop, func(fd int) error { stopFd = fd; return nil }); err != nil {
		return err
	}
	buf := make([]byte, 32<<10)
	for {
		var n int
		var rerr error
		stopped := false
		cerr := sc.Control(func(fd uintptr) {
			if stopped, rerr = waitReadable(int(fd), stopFd); stopped || rerr != nil {
				return
			}
			n, rerr = unix.Read(int(fd), buf)
			if rerr == unix.EAGAIN || rerr == unix.EINTR {
				n, rerr = -1, nil // spurious wakeup: wait again
			}
		})
		switch {
		case cerr != nil:
			return cerr
		case stopped:
			return nil
		case rerr != nil:
			return rerr
		case n == 0:
			return nil // EOF
		case n > 0:
			if _, err := master.Write(buf[:n]); err != nil {
				return err
			}
		}
	}
}
