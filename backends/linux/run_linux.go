//go:build linux

package linux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/backends/linux/sandbox"
	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/sdk/proc"
)

// limitPoll is how often a run with cgroup limits checks whether it hit
// one (a process OOM-killed, a fork refused), to end the run at once.
const limitPoll = 50 * time.Millisecond

// run starts the helper for pl's mode through proc, which does the I/O,
// the terminal, signals, the timeout and the tree kill.
func run(ctx context.Context, req *core.RunRequest, pl *Plan, helper string, spares *sparePool) (*core.RunResult, error) {
	if helper == "" {
		return nil, fmt.Errorf("%w: cannot find the sandbox helper (%s)", core.ErrUnsupported, HelperName)
	}
	// The command's own directory and environment (the request's, as proc
	// makes them) go to the helper in its configuration; proc starts the
	// helper in their place.
	spec := proc.FromRequest(req)
	dir, env := spec.Dir, spec.Env
	path, err := lookPath(req.Argv[0], env, dir)
	if err != nil {
		return nil, err
	}
	hc, err := helperConfig(pl, path, req.Argv, dir, env)
	if err != nil {
		return nil, fmt.Errorf("%w: linux: %v", core.ErrUnsupported, err)
	}
	cfg, err := hc.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("linux: encoding the run configuration: %w", err)
	}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer cfgR.Close()
	defer cfgW.Close()
	stR, stW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer stR.Close()
	defer stW.Close()

	var cg *runCgroup
	if pl.Cgroup != nil {
		if cg, err = newRunCgroup(pl.Cgroup); err != nil {
			return nil, fmt.Errorf("%w: limits: %v", core.ErrPermission, err)
		}
		defer cg.remove()
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The kind of helper start (role, and in namespaces mode the clone
	// attributes) serves a fresh start here and names the spare below.
	kind := kindOf(pl, helper)
	spec.Path, spec.Argv = helper, []string{kind.role}
	if pl.Mode == ModeNamespaces {
		spec.Dir = "/"
	}
	var pidfd = -1
	defer func() {
		if pidfd >= 0 {
			unix.Close(pidfd)
		}
	}()
	var limitHit string
	var limitMu sync.Mutex
	spec.Configure = func(cmd *exec.Cmd) error {
		cmd.ExtraFiles = []*os.File{cfgR, stW}
		if kind.configure != nil {
			return kind.configure(cmd)
		}
		return nil
	}
	// A helper started ahead of time takes the run when one is ready (the
	// same kind; in a plugin agent only), with the files above; proc
	// starts the helper itself otherwise.
	spec.Spare = spares.take(kind)
	var held []int
	defer func() {
		if len(held) > 0 {
			go release(held)
		}
	}()
	spec.AfterStart = func(pid int) error {
		cfgR.Close()
		stW.Close()
		if pl.Mode == ModeNamespaces {
			held = holdNamespaces(pid, pl.Loopback)
		}
		if pl.Mode == ModeNamespaces && cg != nil {
			if fd, err := unix.PidfdOpen(pid, 0); err == nil {
				pidfd = fd
			}
		}
		if cg != nil {
			if err := cg.add(pid); err != nil {
				return err
			}
		}
		// The helper waits for this before doing anything: it is in the
		// cgroup before the command can fork.
		if _, err := cfgW.Write(cfg); err != nil {
			return fmt.Errorf("sending the run configuration to the helper: %w", err)
		}
		return cfgW.Close()
	}
	// The next spare starts once this run is over and its result is on
	// its way (see refillSoon).
	defer spares.refillSoon(kind)
	switch {
	case pl.Mode == ModeNamespaces && cg != nil:
		// Killing the pid namespace's init kills the namespace. A pidfd
		// makes this safe after the init was reaped.
		spec.KillTree = func(pid int) {
			if pidfd >= 0 {
				_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
			}
			cg.kill()
		}
	case cg != nil:
		spec.KillTree = func(pid int) { cg.kill() }
	}
	// Without a cgroup, namespaces mode keeps proc's default tree kill: it
	// SIGKILLs the helper (the namespace's init, still unreaped, so its pid
	// cannot have been reused) and its process group, which kills the
	// whole namespace; and after a normal exit it returns at once (the
	// init was reaped and nothing was reparented to the plugin) instead of
	// reading the whole process table, which proc does after a custom
	// KillTree (≈ 1.5 ms a run here).
	if cg != nil {
		go func() {
			t := time.NewTicker(limitPoll)
			defer t.Stop()
			for {
				select {
				case <-runCtx.Done():
					return
				case <-t.C:
					if l := cg.exceeded(); l != "" {
						limitMu.Lock()
						limitHit = l
						limitMu.Unlock()
						cancel()
						return
					}
				}
			}
		}()
	}

	res, runErr := proc.Run(runCtx, spec)
	// When the helper never started (AfterStart not called), our copies of
	// its ends are still open: close them so the status read ends.
	cfgR.Close()
	stW.Close()
	st := readStatus(stR)
	limitMu.Lock()
	hit := limitHit
	limitMu.Unlock()
	if cg != nil && hit == "" {
		hit = cg.exceeded()
	}
	if st.Error != "" {
		return nil, statusError(st)
	}
	if runErr != nil && !(hit != "" && errors.Is(runErr, core.ErrCanceled) && ctx.Err() == nil) {
		return res, runErr
	}
	if res == nil {
		return nil, fmt.Errorf("linux: the run ended without a result")
	}
	if pl.Mode == ModeNamespaces && st.Exit != nil && !res.TimedOut && hit == "" {
		res.ExitCode, res.Signal = *st.Exit, core.Signal(st.Signal)
	}
	if hit != "" {
		res.LimitExceeded = hit
		if req.Diagnostics != nil {
			fmt.Fprintf(req.Diagnostics, "sbx: the command exceeded its %s limit and was killed\n", hit)
		}
	}
	return res, nil
}

// holdNamespaces opens the mount, IPC, UTS and (withNet) network
// namespaces of the helper pid, the namespaces init (alive or not yet
// reaped, so the pid is its own). Holding them moves their teardown off
// the end of the run: without a reference left, the init's exit pays for
// unmounting the sandbox's whole mount tree (an RCU grace period) before
// the plugin even learns that it exited, 0.1 to 0.5 ms a run here. release
// drops them afterwards, in the background. Only the plugin holds these
// descriptors (close-on-exec); nothing runs in the namespaces any more by
// then, since the pid namespace died with its init. Best effort: a
// namespace that cannot be opened is simply torn down at exit, as before.
func holdNamespaces(pid int, withNet bool) []int {
	names := []string{"mnt", "ipc", "uts"}
	if withNet {
		names = append(names, "net")
	}
	var fds []int
	for _, n := range names {
		if fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/"+n, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			fds = append(fds, fd)
		}
	}
	return fds
}

// release closes descriptors of holdNamespaces; the last reference to a
// namespace tears it down in the closing thread.
func release(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}

// readStatus reads what the helper reported (nothing when the command was
// executed and ran normally in Landlock mode).
func readStatus(r io.Reader) sandbox.Status {
	var st sandbox.Status
	b, _ := io.ReadAll(io.LimitReader(r, 1<<16))
	if len(b) > 0 {
		if err := json.Unmarshal(b, &st); err != nil {
			st.Error, st.Class = "garbled status from the sandbox helper: "+string(b), "unsupported"
		}
	}
	return st
}

// statusError turns a helper's failure into an error of the right class.
func statusError(st sandbox.Status) error {
	class := core.ErrUnsupported
	switch st.Class {
	case "permission":
		class = core.ErrPermission
	case "not found":
		class = core.ErrNotFound
	}
	return fmt.Errorf("%w: linux sandbox: %s", class, st.Error)
}

// lookPath resolves the command with the PATH of the command's environment
// (not the plugin's), by proc's rules (relative PATH entries are skipped);
// a name with a slash is taken relative to dir, where the command starts.
func lookPath(name string, env []string, dir string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty command name", core.ErrInvalidPolicy)
	}
	if strings.ContainsRune(name, '/') {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return name, nil
	}
	return proc.LookPath(name, env)
}
