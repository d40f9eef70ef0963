package proc

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/plugins/sdk/proc/spare"
)

// Spare is a process started ahead of a run by [StartSpare], waiting in
// [spare.Await] to be handed one. A run takes it through [Spec.Spare]: the
// process's own start (fork, exec, the Go runtime of a helper, namespaces
// cloned for it) is then off the run's path. A spare serves one run; one
// that is not needed any more is ended with [Spare.Close].
type Spare struct {
	cmd  *exec.Cmd
	ctrl *os.File // our end of the control socket

	mu     sync.Mutex
	handed bool // a run took it: Run waits for it now
	closed bool
}

// spawner is the goroutine that forks spares, locked to its OS thread for
// the life of the process: the parent-death signal of a child is tied to
// the thread that forked it, and a spare must not die because the thread
// of some run that happened to fork it was retired.
var spawner struct {
	once sync.Once
	jobs chan func()
}

// onSpawner runs f on the spawner's thread and returns its error.
func onSpawner(f func() error) error {
	spawner.once.Do(func() {
		spawner.jobs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for job := range spawner.jobs {
				job()
			}
		}()
	})
	errc := make(chan error, 1)
	spawner.jobs <- func() { errc <- f() }
	return <-errc
}

// StartSpare starts the program at path with argv (argv[0] included) as a
// spare: in a session of its own, with SIGKILL as its parent-death signal
// (tied to a thread of this process that never ends), an empty
// environment, / as its working directory, /dev/null as its standard
// streams, its end of the control socket at [spare.ControlFD] and
// /dev/null in the other [spare.Reserved] slots. The
// program calls [spare.Await] first thing. configure, when not nil, may add
// clone flags, id mappings and the like to the command before it starts;
// like [Spec.Configure] it must keep what proc set, and it must not add
// files (the run brings its own).
//
// The spare counts as a run's main process from the start: no tree kill or
// orphan reaping of another run touches it.
func StartSpare(path string, argv []string, configure func(*exec.Cmd) error) (*Spare, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("proc: a spare needs an argv[0]")
	}
	if err := onlyStdio(); err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("proc: spare control socket: %w", err)
	}
	ctrl := os.NewFile(uintptr(fds[0]), "spare-control")
	theirs := os.NewFile(uintptr(fds[1]), "spare-control")
	defer theirs.Close()
	null, err := devNull()
	if err != nil {
		ctrl.Close()
		return nil, err
	}
	extra := []*os.File{theirs}
	for len(extra) < spare.Reserved {
		extra = append(extra, null)
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Env: []string{}, Dir: "/", ExtraFiles: extra}
	attr := &syscall.SysProcAttr{Setsid: true}
	setPdeathsig(attr)
	cmd.SysProcAttr = attr
	if configure != nil {
		if err := configure(cmd); err != nil {
			ctrl.Close()
			return nil, fmt.Errorf("proc: configure spare %s: %w", argv[0], err)
		}
		a := cmd.SysProcAttr
		switch {
		case a == nil || !a.Setsid || a.Setctty:
			err = fmt.Errorf("proc: configure of spare %s changed Setsid or Setctty; it must keep the attributes proc sets", argv[0])
		case !slices.Equal(cmd.ExtraFiles, extra) || cmd.Stdin != nil || cmd.Stdout != nil || cmd.Stderr != nil:
			err = fmt.Errorf("proc: configure of spare %s changed its files; a run brings its own", argv[0])
		default:
			err = checkPdeathsig(argv[0], a)
		}
		if err != nil {
			ctrl.Close()
			return nil, err
		}
	}
	err = onSpawner(func() error {
		lockRegistry()
		defer unlockRegistry()
		if err := cmd.Start(); err != nil {
			return err
		}
		registry.mains[cmd.Process.Pid] = true
		return nil
	})
	if err != nil {
		ctrl.Close()
		return nil, fmt.Errorf("proc: starting spare %s: %w", argv[0], err)
	}
	return &Spare{cmd: cmd, ctrl: ctrl}, nil
}

// Pid is the spare's process id.
func (s *Spare) Pid() int { return s.cmd.Process.Pid }

// Close ends a spare no run took: it kills and reaps it. It does nothing
// once a run took the spare, and may be called more than once.
func (s *Spare) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handed || s.closed {
		return
	}
	s.closed = true
	s.ctrl.Close()
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	registry.Lock()
	delete(registry.mains, s.cmd.Process.Pid)
	registry.Unlock()
}

// devNull is /dev/null, opened once, for the standard streams a run leaves
// unset (exec.Cmd opens it for each start).
var devNull = sync.OnceValues(func() (*os.File, error) { return os.OpenFile(os.DevNull, os.O_RDWR, 0) })

// hand gives the spare the run prepared in cmd: its standard streams and
// extra files, its working directory, the controlling terminal when
// SysProcAttr asks for one, and umask when not nil. An error means the
// spare could not take it (it died while waiting, say): the caller closes
// it and starts the command itself.
func (s *Spare) hand(cmd *exec.Cmd, umask *uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handed || s.closed {
		return fmt.Errorf("proc: spare already used")
	}
	files := make([]*os.File, 0, 3+len(cmd.ExtraFiles))
	for _, std := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		f, err := stdFile(std)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	for _, f := range cmd.ExtraFiles {
		if f == nil {
			// exec.Cmd closes a nil extra file's slot; the hand-over
			// cannot leave a hole.
			return fmt.Errorf("proc: a spare cannot take a nil extra file")
		}
		files = append(files, f)
	}
	if len(files) > spare.MaxFiles {
		return fmt.Errorf("proc: %d files for a spare, at most %d", len(files), spare.MaxFiles)
	}
	h := spare.Header{Dir: cmd.Dir}
	if a := cmd.SysProcAttr; a != nil && a.Setctty {
		h.Flags |= spare.FlagCtty
	}
	if umask != nil {
		h.Flags |= spare.FlagUmask
		h.Umask = *umask
	}
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	err := unix.Sendmsg(int(s.ctrl.Fd()), h.Encode(), unix.UnixRights(fds...), nil, unix.MSG_NOSIGNAL)
	runtime.KeepAlive(files)
	if err != nil {
		return fmt.Errorf("proc: handing the run to spare %d: %w", s.cmd.Process.Pid, err)
	}
	s.handed = true
	s.ctrl.Close()
	return nil
}

// stdFile returns the file behind a standard stream of an exec.Cmd that
// proc prepared: an *os.File, or /dev/null for nil.
func stdFile(std any) (*os.File, error) {
	switch v := std.(type) {
	case nil:
		return devNull()
	case *os.File:
		if v == nil {
			return devNull()
		}
		return v, nil
	}
	return nil, fmt.Errorf("proc: a spare can only take files as standard streams, not %T", std)
}

// handToSpare hands the run to sp instead of starting the command, and
// waits for it in the background as launch does. It returns nil when sp
// could not take the run; sp is closed then, and the caller starts the
// command itself.
func (r *run) handToSpare(sp *Spare) <-chan waitResult {
	if err := sp.hand(r.cmd, r.s.Umask); err != nil {
		sp.Close()
		return nil
	}
	r.cmd = sp.cmd
	r.pid = sp.cmd.Process.Pid
	registry.Lock()
	registry.active[r.pid] = true
	registry.Unlock()
	return r.waitInBackground()
}
