package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/sdk/proc/inherit"
)

// Spec describes a command to run.
type Spec struct {
	// Argv is the command and its arguments. Argv[0] is resolved against
	// the PATH of Env (this process's PATH when Env has none) when it has
	// no path separator; relative PATH entries are ignored.
	Argv []string
	// Path, when set, is the executable to start instead of resolving
	// Argv[0] (a re-exec'd helper, say); Argv is passed as is.
	Path string
	// Dir is the working directory; empty means this process's.
	Dir string
	// Env is the command's whole environment ("K=V"). Nil means an empty
	// environment, not this process's: nothing is inherited by accident.
	Env []string
	// Umask, when non-nil, is the file mode creation mask the command
	// starts with; nil means this process's. On Linux it is set on the
	// forking thread only (which is then retired), so concurrent runs and
	// this process's own files are unaffected. Elsewhere it is ignored:
	// plugins there are never agents, so they are started by their caller
	// and have its mask already.
	Umask *uint32
	// Stdin is the command's standard input. An *os.File is handed to the
	// command as is (no copy); another reader is copied into a pipe, and
	// its EOF closes the pipe. Nil means /dev/null.
	Stdin io.Reader
	// Stdout is the command's standard output. An *os.File is handed over
	// as is; another writer is fed from a pipe. Nil means /dev/null.
	Stdout io.Writer
	// Stderr is like Stdout. When Stderr and Stdout are the same writer
	// they share one pipe, so their order is kept.
	Stderr io.Writer
	// TTY, when non-nil, runs the command on a new pseudo terminal of this
	// size, as its controlling terminal: Stdin is relayed to the pty and
	// the pty's output (the command's stdout and stderr) to Stdout; Stderr
	// is not used. Unix only.
	TTY *core.WindowSize
	// Resize delivers terminal size changes, applied to the pty.
	Resize <-chan core.WindowSize
	// Signals delivers signals to forward to the command: to the pty's
	// foreground process group with a TTY, else to the command's process
	// group.
	Signals <-chan core.Signal
	// Timeout, when non-zero, kills the whole tree after this long; the
	// result then has TimedOut set and ExitCode 124 (Signal keeps what the
	// wait status says, usually SIGKILL).
	Timeout time.Duration
	// Configure runs on the prepared *exec.Cmd just before Start, to add
	// SysProcAttr bits (Cloneflags, UidMappings...) or ExtraFiles. proc has
	// already set Setsid (+Setctty/Ctty with a TTY) and, on Linux,
	// Pdeathsig=SIGKILL; Configure must keep them.
	Configure func(cmd *exec.Cmd) error
	// AfterStart runs once the process exists, before waiting for it (to
	// put it in a cgroup, say). An error kills the tree and is returned
	// from Run.
	AfterStart func(pid int) error
	// KillTree, when set, replaces the default tree kill. It is called on
	// timeout, on cancel, after the command exits (to kill what it left
	// behind), and again every second while output relays still wait for
	// EOF; it must be safe to call several times. Orphans reparented to
	// this process are still reaped after it.
	KillTree func(pid int)
	// Started is called with the pid once the command runs (after
	// AfterStart).
	Started func(pid int)
	// Spare, when set, is a process started ahead of time by [StartSpare]
	// (Linux) that takes this run instead of a fresh start of Path/Argv:
	// Run hands it the standard streams (or pty), the files Configure puts
	// in ExtraFiles, Dir, Umask and the controlling terminal, which
	// Await of package proc/spare installs; Configure's SysProcAttr changes do not apply
	// to it (it was started with its own). When the spare cannot take the
	// run (it died while it waited), Run closes it and starts Path/Argv as
	// usual, so Path/Argv must still describe an equivalent start. Run
	// closes a spare that did not take the run (an error before the
	// start). Run
	// closes a spare that did not take the run (an error before the
	// start).
	Spare *Spare
	// Exit, when set, maps the raw wait status to a result (a re-exec'd
	// init that reports its child's status through its own exit code, for
	// example). Default: the exit code, or 128+N and Signal N for a death
	// by signal N.
	Exit func(ws syscall.WaitStatus) (code int, sig core.Signal)
}

// FromRequest returns the Spec that runs req as it is: its Argv; its Dir,
// or the policy's workspace when empty (as core.RunRequest documents); the
// environment core.BuildEnv makes from req.Env and the policy; the standard
// streams, TTY, Resize and Signals; the policy's timeout; and Started. A
// backend that starts something else (a wrapper, a re-exec'd helper) then
// sets Path and Argv, and adds Configure, AfterStart or KillTree.
func FromRequest(req *core.RunRequest) Spec {
	return Spec{
		Argv:    req.Argv,
		Dir:     req.WorkDir(),
		Env:     core.BuildEnv(req.Env, req.Policy.Env, nil),
		Umask:   req.Umask,
		Stdin:   req.Stdin,
		Stdout:  req.Stdout,
		Stderr:  req.Stderr,
		TTY:     req.TTY,
		Resize:  req.Resize,
		Signals: req.Signals,
		Timeout: req.Policy.Limits.Timeout,
		Started: req.Started,
	}
}

// onlyStdio marks, once, every descriptor this process inherited
// close-on-exec (package inherit), so that a command gets the files its
// Spec gives and nothing this process was started with.
var onlyStdio = sync.OnceValue(func() error {
	if err := inherit.OnlyStdio(); err != nil {
		return fmt.Errorf("proc: keeping inherited descriptors from commands: %w", err)
	}
	return nil
})

// drainStall is how long Run waits, once the command's tree has been killed,
// for output relays that make no progress at all before it gives up on
// them. Only a process that escaped the tree kill while holding the output
// pipe (or a caller's writer that blocks) can make a relay stall that long.
var drainStall = 10 * time.Second

// Run starts the command, waits for it and for the output relays to drain,
// kills whatever the command left behind, and returns ExitCode, Signal,
// TimedOut and Duration (Report is left for the caller).
//
// Cancelling ctx kills the tree; Run then returns the result together with
// an error wrapping core.ErrCanceled. A command that cannot be started
// returns a nil result and an error (wrapping core.ErrNotFound when it is not
// in PATH, core.ErrPermission when the OS refused to execute it).
func Run(ctx context.Context, s Spec) (*core.RunResult, error) {
	if s.Spare != nil {
		// A spare that does not take this run (it failed before the
		// start) is not left waiting; Close does nothing once it did.
		defer s.Spare.Close()
	}
	if len(s.Argv) == 0 {
		return nil, fmt.Errorf("%w: no command given: pass the program to run and its arguments", core.ErrInvalidPolicy)
	}
	if err := onlyStdio(); err != nil {
		return nil, err
	}
	path, err := resolve(&s)
	if err != nil {
		return nil, err
	}
	// The child reports a failed chdir as a bare ENOENT, as if the program
	// were missing: check the directory first to say what is wrong.
	if s.Dir != "" {
		if fi, err := os.Stat(s.Dir); err != nil {
			return nil, fmt.Errorf("cannot run %s: working directory: %w", s.Argv[0], err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("cannot run %s: working directory %s is not a directory", s.Argv[0], s.Dir)
		}
	}
	env := s.Env
	if env == nil {
		env = []string{}
	}
	r := &run{s: s, cmd: &exec.Cmd{Path: path, Args: s.Argv, Dir: s.Dir, Env: env}}
	defer r.closeAll()

	// Platform attributes first (setsid, pdeathsig, pty), then stdio, then
	// the caller's Configure, which must keep what proc set.
	if err := r.setup(); err != nil {
		return nil, err
	}
	if err := r.stdio(); err != nil {
		return nil, err
	}
	if s.Configure != nil {
		if err := s.Configure(r.cmd); err != nil {
			return nil, fmt.Errorf("configure %s: %w", s.Argv[0], err)
		}
		// Fail closed: the session, the controlling terminal and the
		// parent-death signal are part of the guarantees.
		if err := r.checkAttr(); err != nil {
			return nil, err
		}
	}

	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("run of %s %w before it started: %w", s.Argv[0], core.ErrCanceled, err)
	}
	// The child's parent-death signal is tied to the thread that forks it
	// (Linux), and Go retires a thread only when a goroutine locked to it
	// ends: keep this goroutine on its thread until the child has been
	// waited for (every return below that point comes after done). Forking
	// from this goroutine rather than a locked helper saves two thread
	// switches per run.
	runtime.LockOSThread()
	retire := false // the thread got a mask of its own: let it die with us
	defer func() {
		if !retire {
			runtime.UnlockOSThread()
		}
	}()
	var done <-chan waitResult
	if s.Spare != nil {
		done = r.handToSpare(s.Spare)
	}
	if done == nil {
		if s.Umask != nil {
			own, err := threadUmask(*s.Umask)
			if err != nil {
				return nil, fmt.Errorf("setting the umask %04o for %s: %w", *s.Umask, s.Argv[0], err)
			}
			retire = own
		}
		if done, err = r.launch(); err != nil {
			return nil, startError(s.Argv[0], path, err)
		}
	}
	begin := time.Now()
	// The child has its copies of the pipe ends and the pty; drop ours so
	// that EOF arrives when the command's tree is gone.
	r.closeChildEnds()
	r.startRelays()

	if err := r.started(); err != nil {
		r.abort(done)
		return nil, err
	}
	if s.AfterStart != nil {
		if err := s.AfterStart(r.pid); err != nil {
			r.abort(done)
			return nil, fmt.Errorf("after starting %s: %w", s.Argv[0], err)
		}
	}
	if s.Started != nil {
		s.Started(r.pid)
	}

	var timer <-chan time.Time
	if s.Timeout > 0 {
		t := time.NewTimer(s.Timeout)
		defer t.Stop()
		timer = t.C
	}
	ctxDone := ctx.Done()
	sigs, resize := s.Signals, s.Resize
	var timedOut, canceled bool
	var wr waitResult
wait:
	for {
		select {
		case wr = <-done:
			break wait
		case <-timer:
			timer = nil
			if !canceled {
				timedOut = true
			}
			r.killTree()
		case <-ctxDone:
			ctxDone = nil
			if !timedOut {
				canceled = true
			}
			r.killTree()
		case sig, ok := <-sigs:
			if !ok {
				sigs = nil
				continue
			}
			if !r.waited.Load() { // its pid may belong to another process now
				_ = r.signal(sig) // the command may be exiting: ignore ESRCH
			}
		case ws, ok := <-resize:
			if !ok {
				resize = nil
				continue
			}
			_ = r.resize(ws)
		}
	}
	elapsed := time.Since(begin)
	// Whatever the command left behind dies with the run.
	r.killTree()
	r.drain()

	if wr.state == nil {
		return nil, fmt.Errorf("waiting for %s: %w", s.Argv[0], wr.err)
	}
	res := &core.RunResult{Duration: elapsed}
	res.ExitCode, res.Signal = r.exitStatus(wr.state)
	if timedOut {
		res.TimedOut = true
		res.ExitCode = core.TimeoutExitCode
	}
	if canceled {
		return res, fmt.Errorf("run of %s %w: %w", s.Argv[0], core.ErrCanceled, context.Cause(ctx))
	}
	return res, nil
}

// waitResult is how the main process ended.
type waitResult struct {
	state *os.ProcessState
	err   error
}

// run is the state of one Run.
type run struct {
	s   Spec
	cmd *exec.Cmd
	pid int
	// waited is set once exec.Cmd.Wait reaped the main process: its pid
	// may then belong to someone else and is no longer signalled itself.
	waited atomic.Bool

	// childEnds are the files the child inherits (pipe ends, pty slave);
	// the parent closes them right after Start.
	childEnds []*os.File
	// parentEnds are the parent's ends (pipe ends, pty master), closed at
	// the end of Run.
	parentEnds []*os.File
	// relays copy between the caller's streams and the parent ends.
	relays []func()
	// outputs are the relays Run waits for (output); input relays are not
	// waited for: a caller's reader may block forever.
	outputs sync.WaitGroup
	// readEnds are the parent's output read ends, given a deadline when a
	// relay stalls.
	readEnds []*os.File
	// progress counts bytes the output relays delivered.
	progress atomic.Int64

	sys sysRun
}

// stdio connects the command's standard streams, unless the platform setup
// (a pty) already did.
func (r *run) stdio() error {
	if r.s.TTY != nil {
		return nil
	}
	var err error
	if r.cmd.Stdin, err = r.input(r.s.Stdin); err != nil {
		return err
	}
	if r.cmd.Stdout, err = r.output(r.s.Stdout); err != nil {
		return err
	}
	if sameWriter(r.s.Stdout, r.s.Stderr) {
		r.cmd.Stderr = r.cmd.Stdout
		return nil
	}
	r.cmd.Stderr, err = r.output(r.s.Stderr)
	return err
}

// input returns what the child gets as stdin for the caller's reader: the
// file itself, nil (/dev/null), or the read end of a pipe fed by a relay.
func (r *run) input(in io.Reader) (io.Reader, error) {
	if in == nil {
		return nil, nil
	}
	if f, ok := in.(*os.File); ok {
		return f, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	r.childEnds = append(r.childEnds, pr)
	r.parentEnds = append(r.parentEnds, pw)
	r.relays = append(r.relays, func() {
		// EOF (or an error) of the caller's reader is the command's EOF.
		// A write error means the command closed its stdin: stop.
		_, _ = io.Copy(pw, in)
		_ = pw.Close()
	})
	return pr, nil
}

// output returns what the child gets for the caller's writer: the file
// itself, nil (/dev/null), or the write end of a pipe drained by a relay.
func (r *run) output(out io.Writer) (io.Writer, error) {
	if out == nil {
		return nil, nil
	}
	if f, ok := out.(*os.File); ok {
		return f, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	r.childEnds = append(r.childEnds, pw)
	r.addOutput(pr, out)
	return pw, nil
}

// addOutput adds a relay from src (a parent end) to the caller's out, which
// Run waits for.
func (r *run) addOutput(src *os.File, out io.Writer) {
	r.parentEnds = append(r.parentEnds, src)
	r.readEnds = append(r.readEnds, src)
	r.outputs.Add(1)
	r.relays = append(r.relays, func() {
		defer r.outputs.Done()
		w := &countingWriter{w: out, n: &r.progress}
		// Read until EOF (every holder of the write end is gone) or an
		// error (a pty master returns EIO then). A failing writer must
		// not block the command: keep draining into the void.
		if _, err := io.Copy(w, src); err != nil && w.failed {
			_, _ = io.Copy(io.Discard, src)
		}
	})
}

// launch starts the command from the calling goroutine, which Run keeps
// locked to its OS thread until the command has been waited for (on Linux
// the child's parent-death signal is tied to the thread that forked it, and
// Go may retire a thread), and waits for it in the background.
func (r *run) launch() (<-chan waitResult, error) {
	if err := r.startChild(); err != nil {
		return nil, err
	}
	r.pid = r.cmd.Process.Pid
	return r.waitInBackground(), nil
}

// waitInBackground waits for the main process (r.cmd, started) and
// delivers how it ended.
func (r *run) waitInBackground() <-chan waitResult {
	done := make(chan waitResult, 1)
	go func() {
		err := r.cmd.Wait()
		r.waited.Store(true)
		r.childWaited()
		done <- waitResult{state: r.cmd.ProcessState, err: err}
	}()
	return done
}

// abort ends a run that failed after the command started: it kills the
// tree, waits for the main process, kills what it may have left behind
// meanwhile, and drains the output relays.
func (r *run) abort(done <-chan waitResult) {
	r.killTree()
	<-done
	r.killTree()
	r.drain()
}

// startRelays starts the copy goroutines.
func (r *run) startRelays() {
	for _, f := range r.relays {
		go f()
	}
}

// drain waits for the output relays to reach EOF. While they have not, it
// kills the tree again every second (a process may have slipped out of an
// earlier kill), and it gives up on relays that made no progress for
// drainStall.
func (r *run) drain() {
	if len(r.readEnds) == 0 {
		return // no output relay (the command writes to files itself)
	}
	finished := make(chan struct{})
	go func() {
		r.outputs.Wait()
		close(finished)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, stalledSince := r.progress.Load(), time.Now()
	for {
		select {
		case <-finished:
			return
		case <-tick.C:
			r.killTree()
			if n := r.progress.Load(); n != last {
				last, stalledSince = n, time.Now()
				continue
			}
			if time.Since(stalledSince) >= drainStall {
				// Unblock the reads; a relay stuck in the caller's
				// Write finishes on its own later.
				for _, f := range r.readEnds {
					_ = f.SetReadDeadline(time.Now())
				}
				return
			}
		}
	}
}

// closeChildEnds closes the parent's copies of the child's stdio.
func (r *run) closeChildEnds() {
	for _, f := range r.childEnds {
		_ = f.Close()
	}
	r.childEnds = nil
}

// closeAll releases every file Run opened.
func (r *run) closeAll() {
	r.closeChildEnds()
	for _, f := range r.parentEnds {
		_ = f.Close()
	}
	r.parentEnds = nil
	r.sys.close()
	r.release()
}

// exitStatus maps the main process's end to an exit code and signal.
func (r *run) exitStatus(ps *os.ProcessState) (int, core.Signal) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if ok && r.s.Exit != nil {
		return r.s.Exit(ws)
	}
	if ok {
		return waitStatus(ws)
	}
	return ps.ExitCode(), 0
}

// killTree kills the command's whole process tree, with the caller's
// KillTree when given.
func (r *run) killTree() {
	if r.pid <= 0 {
		return
	}
	if r.s.KillTree != nil {
		r.s.KillTree(r.pid)
		reapOrphans()
		return
	}
	r.defaultKillTree()
}

// countingWriter counts the bytes written through it and remembers whether
// the underlying writer failed.
type countingWriter struct {
	w      io.Writer
	n      *atomic.Int64
	failed bool
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	if err != nil {
		c.failed = true
	}
	return n, err
}

// sameWriter reports whether a and b are the same writer, as os/exec does
// for Stdout and Stderr (comparing non-comparable values is not a panic).
func sameWriter(a, b io.Writer) (same bool) {
	if a == nil || b == nil {
		return false
	}
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// startError words an error from starting the command.
func startError(name, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "chdir" {
		return fmt.Errorf("cannot run %s in %s: %w", name, pe.Path, err)
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: cannot run %s: %s does not exist (or its interpreter does not): %w", core.ErrNotFound, name, path, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w: cannot run %s: %s is not executable by this user: %w", core.ErrPermission, name, path, err)
	default:
		return fmt.Errorf("cannot run %s: %w", name, err)
	}
}
