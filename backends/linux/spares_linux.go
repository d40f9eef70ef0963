//go:build linux

package linux

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sbxdev/sbx/backends/linux/sandbox"
	"github.com/sbxdev/sbx/plugins/sdk/proc"
)

// spareDelay is how long after a run the pool waits before it starts the
// next spare. A plugin agent runs Go on one processor, and forking a spare
// holds it (in namespaces mode for a full copy of the plugin and the
// creation of its namespaces, 1–3 ms): started while the command ran, it
// delayed the run's end; started as the run returned, it ran before the
// result went out. A millisecond later the result has left and the fork
// fills the time the caller takes to exit and start its next command.
// Measured end to end here: with a command between two runs of a mode,
// 0.7 ms (linux-landlock) and 2 ms (linux-namespaces) faster than a spare
// started with the command; back to back, where the next run waits for the
// spare under way (take), as fast.
const spareDelay = time.Millisecond

// spareWait bounds how long a run waits for a spare under way before it
// starts its own helper (a spare normally takes 1–5 ms to start).
const spareWait = 20 * time.Millisecond

// spareRetry is how long the pool waits before it tries again to start a
// spare of a kind whose last start failed.
const spareRetry = time.Minute

// sparePool keeps, in a plugin agent (proc.LongLived), one sandbox
// helper started ahead of time for each kind of start that the backend's
// runs needed: the next run of that kind hands its files and configuration
// to it instead of forking the helper, so the helper's start (fork, exec,
// its Go runtime, and in namespaces mode the clone into new namespaces) is
// off the run's path. The next spare starts just after a run (see
// spareDelay). A plugin started for one command keeps none.
type sparePool struct {
	mu    sync.Mutex
	ready map[string]*readySpare
	// starting holds, for each kind whose spare is under way, a channel
	// closed once it is ready (or failed).
	starting map[string]chan struct{}
	failed   map[string]time.Time

	// always keeps spares outside plugin agents too (KeepSpares).
	always atomic.Bool
	// inline makes refillSoon start the spare before it returns (tests).
	inline bool
	// wait is spareWait (tests lengthen it).
	wait time.Duration
	// taken counts the runs a spare took (tests).
	taken atomic.Int64
}

// readySpare is a spare and the helper file it was started from.
type readySpare struct {
	sp *proc.Spare
	id fileID
}

// spareKind is one kind of helper start: the role, the helper binary and,
// in namespaces mode, the namespaces and id maps it is cloned with.
type spareKind struct {
	key    string
	role   string
	helper string
	// configure adds the namespaces mode's clone attributes; nil in
	// Landlock mode.
	configure func(*exec.Cmd) error
}

func newSparePool() *sparePool {
	return &sparePool{ready: map[string]*readySpare{}, starting: map[string]chan struct{}{}, failed: map[string]time.Time{}, wait: spareWait}
}

// keeping says whether to keep spares: in a plugin agent, or after
// KeepSpares.
func (p *sparePool) keeping() bool { return p.always.Load() || proc.LongLived() }

// kindOf returns the kind of helper start that pl needs.
func kindOf(pl *Plan, helper string) spareKind {
	if pl.Mode != ModeNamespaces {
		return spareKind{key: sandbox.RoleExec + "\x00" + helper, role: sandbox.RoleExec, helper: helper}
	}
	ns := nsSysProcAttr(pl.UIDMap, pl.GIDMap, pl.Loopback)
	return spareKind{
		key:    fmt.Sprintf("%s\x00%s\x00%#x %v %v %v %v", sandbox.RoleInit, helper, ns.Cloneflags, ns.UidMappings, ns.GidMappings, ns.GidMappingsEnableSetgroups, ns.AmbientCaps),
		role:   sandbox.RoleInit,
		helper: helper,
		configure: func(cmd *exec.Cmd) error {
			setNamespaces(cmd.SysProcAttr, ns)
			return nil
		},
	}
}

// setNamespaces copies the namespaces mode's clone attributes ns onto a,
// keeping what proc set there.
func setNamespaces(a, ns *syscall.SysProcAttr) {
	a.Cloneflags = ns.Cloneflags
	a.UidMappings, a.GidMappings = ns.UidMappings, ns.GidMappings
	a.GidMappingsEnableSetgroups = ns.GidMappingsEnableSetgroups
	a.AmbientCaps = ns.AmbientCaps
}

// take returns the spare kept for k, or nil (none, not an agent, or the
// helper binary was replaced since the spare started: it is closed). When
// the spare of k is being started, take waits for it, up to spareWait:
// starting another helper meanwhile would do the same work twice, on the
// same processor.
func (p *sparePool) take(k spareKind) *proc.Spare {
	if !p.keeping() {
		return nil
	}
	p.mu.Lock()
	if p.ready[k.key] == nil && p.starting[k.key] != nil {
		started := p.starting[k.key]
		p.mu.Unlock()
		select {
		case <-started:
		case <-time.After(p.wait):
		}
		p.mu.Lock()
	}
	r := p.ready[k.key]
	delete(p.ready, k.key)
	p.mu.Unlock()
	if r == nil {
		return nil
	}
	if id, err := identify(k.helper); err != nil || id != r.id {
		r.sp.Close()
		return nil
	}
	p.taken.Add(1)
	return r.sp
}

// refillSoon starts a spare of kind k spareDelay from now, in the
// background (at once with inline), unless one is ready or starting, the
// last start failed less than spareRetry ago, or this process is not an
// agent. The start counts as under way from now on: a run of kind k that
// comes meanwhile waits for it (take).
func (p *sparePool) refillSoon(k spareKind) {
	if !p.keeping() {
		return
	}
	p.mu.Lock()
	if p.ready[k.key] != nil || p.starting[k.key] != nil || time.Since(p.failed[k.key]) < spareRetry {
		p.mu.Unlock()
		return
	}
	started := make(chan struct{})
	p.starting[k.key] = started
	p.mu.Unlock()
	start := func() {
		id, err := identify(k.helper)
		var sp *proc.Spare
		if err == nil {
			sp, err = proc.StartSpare(k.helper, []string{k.role, sandbox.SpareArg}, k.configure)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.starting, k.key)
		close(started)
		if err != nil {
			p.failed[k.key] = time.Now()
			return
		}
		delete(p.failed, k.key)
		p.ready[k.key] = &readySpare{sp: sp, id: id}
	}
	if p.inline {
		start()
		return
	}
	time.AfterFunc(spareDelay, start)
}

// close ends every spare kept (tests).
func (p *sparePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, r := range p.ready {
		r.sp.Close()
		delete(p.ready, k)
	}
}

// fileID identifies a version of a file: replacing the helper (a new
// build) changes it.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
}

// identify returns the fileID of path.
func identify(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, fmt.Errorf("no stat data for %s", path)
	}
	return fileID{dev: st.Dev, ino: st.Ino, size: fi.Size(), mtime: fi.ModTime()}, nil
}

// KeepSpares makes b keep spare helpers whether or not this process is a
// plugin agent (proc.LongLived): for a program that embeds the backend and
// runs many commands, and for benchmarks. The backends of [Backends] share
// one pool, so it applies to all three.
func (b *Backend) KeepSpares() { b.spares.always.Store(true) }
