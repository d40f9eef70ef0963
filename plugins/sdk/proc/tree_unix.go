//go:build unix

package proc

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// registry knows which children of this process are the main processes of
// runs (their statuses belong to exec.Cmd.Wait, never to the orphan reaper)
// and which runs are active (to attribute orphans). Its lock is held while a
// run forks, so a kill or reap never sees a fresh child it does not know.
var registry = struct {
	sync.Mutex
	mains  map[int]bool // started, not yet waited for
	active map[int]bool // main pid of every Run in progress
}{mains: map[int]bool{}, active: map[int]bool{}}

func lockRegistry()   { registry.Lock() }
func unlockRegistry() { registry.Unlock() }

// register records a freshly started main process; the registry is locked.
func register(pid int) {
	registry.mains[pid] = true
	registry.active[pid] = true
}

// childWaited records that exec.Cmd.Wait reaped the main process.
func (r *run) childWaited() {
	registry.Lock()
	delete(registry.mains, r.pid)
	registry.Unlock()
}

// release records that the run is over.
func (r *run) release() {
	if r.pid <= 0 {
		return
	}
	registry.Lock()
	delete(registry.active, r.pid)
	registry.Unlock()
}

// procInfo is what the process table says about a process (/proc/PID/stat
// on Linux, kern.proc.all on macOS).
type procInfo struct {
	ppid, pgid, sid int
	zombie          bool
}

// members returns the live processes of the tree of the run whose main
// process is pid, found in snap:
//   - pid and its descendants;
//   - every process of its session or process group (they keep it when
//     their parent dies and they are reparented to init) and descendants;
//   - orphans reparented to this process (a subreaper) that belong to the
//     run, and their descendants. An orphan is this run's when its session
//     or group is the run's, or, when it has a session of its own (setsid),
//     when no other run is active: with several runs in progress such an
//     orphan cannot be told apart and is left to the last one.
//
// Children of this process in this process's own session are never
// members: they are other code's exec.Cmd children, not sandboxed ones
// (proc always starts commands in a new session). The registry is locked.
func members(snap map[int]procInfo, pid int, mainAlive bool) []int {
	self := os.Getpid()
	selfSid, _ := unix.Getsid(0)
	children := map[int][]int{}
	var roots []int
	for p, pi := range snap {
		children[pi.ppid] = append(children[pi.ppid], p)
		if (p == pid && mainAlive) || pi.sid == pid || pi.pgid == pid {
			roots = append(roots, p)
			continue
		}
		if pi.ppid == self && pi.sid != selfSid && !registry.mains[p] && orphanOf(pi, pid) {
			roots = append(roots, p)
		}
	}
	seen := map[int]bool{}
	var out []int
	for len(roots) > 0 {
		p := roots[len(roots)-1]
		roots = roots[:len(roots)-1]
		if seen[p] || p == self || p == 1 || (p == pid && !mainAlive) || (p != pid && registry.mains[p]) {
			continue
		}
		seen[p] = true
		if !snap[p].zombie {
			out = append(out, p)
		}
		roots = append(roots, children[p]...)
	}
	return out
}

// orphanOf says whether an orphan reparented to this process belongs to the
// run of pid (see members).
func orphanOf(pi procInfo, pid int) bool {
	if pi.sid == pid || pi.pgid == pid {
		return true
	}
	if registry.active[pi.sid] || registry.active[pi.pgid] {
		return false // another run's
	}
	return len(registry.active) <= 1
}

// killTree kills the tree of the run whose main process is pid. It first
// freezes the tree with SIGSTOP, rescanning until no new process shows up
// (a stopped process cannot fork, so nothing is born between the last scan
// and the kill), then SIGKILLs the process group and every member, and
// reaps the orphans. It repeats until a scan finds nothing alive.
func killTree(pid int, mainAlive func() bool) {
	if nothingLeft(mainAlive) {
		return
	}
	for attempt := 0; attempt < 50; attempt++ {
		registry.Lock()
		stopped := map[int]bool{}
		for round := 0; round < 1000; round++ {
			fresh := 0
			for _, p := range members(scanProcs(), pid, mainAlive()) {
				if !stopped[p] {
					_ = unix.Kill(p, unix.SIGSTOP)
					stopped[p] = true
					fresh++
				}
			}
			if fresh == 0 {
				break
			}
		}
		_ = unix.Kill(-pid, unix.SIGKILL)
		if mainAlive() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		for p := range stopped {
			_ = unix.Kill(p, unix.SIGKILL)
		}
		pending := reapLocked()
		registry.Unlock()
		if len(stopped) == 0 && pending == 0 {
			return
		}
		// Killed processes take a moment to become zombies; look again.
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
}

// nothingLeft is the fast path of killTree, for the common end of a run:
// the main process has exited and been reaped, and this process is a
// subreaper. Then every process of the tree still alive descends from a
// child of this process: a survivor's chain of parents ends at a process
// whose parent died, and that process was reparented here. So when no child
// of this process could be a member of the run (each is a run's main
// process, or in this process's own session), nothing is left, and the
// whole process table need not be read.
func nothingLeft(mainAlive func() bool) bool {
	return !mainAlive() && noOrphans()
}

// noOrphans reports, without reading the whole process table, that this
// process (a subreaper) has no child that could be an orphan of a run: each
// child is a run's main process or in this process's own session.
//
// The kernel builds the children list one entry at a time, and when a child
// it already listed is reaped meanwhile (another run's main, an orphan
// another run reaps) it may skip the next one: "one need to stop or freeze
// the leader and all its children to get a precise result"
// (fs/proc/array.c). A skipped child could be a live orphan, so every listed
// child must still exist after the read; if one is gone, the list may be
// short and the full path decides (fail closed).
func noOrphans() bool {
	kids, ok := selfChildren()
	return ok && noOrphanIn(kids)
}

// noOrphanIn is noOrphans for the children kids, just read.
func noOrphanIn(kids []int) bool {
	registry.Lock()
	defer registry.Unlock()
	selfSid, _ := unix.Getsid(0)
	for _, k := range kids {
		sid, err := unix.Getsid(k) // a zombie still has its session
		if err != nil {
			return false // reaped since it was listed: the list may be short
		}
		if registry.mains[k] || sid == selfSid {
			continue // a run's main process, or other code's child
		}
		return false // a possible member (or a zombie to reap): full path
	}
	return true
}

// defaultKillTree is the tree kill used when Spec.KillTree is not set.
func (r *run) defaultKillTree() {
	killTree(r.pid, func() bool { return !r.waited.Load() })
}

// reapOrphans reaps the zombie orphans reparented to this process.
func reapOrphans() {
	if noOrphans() {
		return
	}
	registry.Lock()
	defer registry.Unlock()
	_ = reapLocked()
}

// reapLocked reaps, one pid at a time, the zombie children of this process
// that are neither a run's main process (exec.Cmd.Wait reaps those) nor in
// this process's session (other code's exec.Cmd children). A blanket
// wait(-1) would steal their exit statuses. It returns how many zombies
// could not be reaped yet: the leader of a multi-threaded process shows as a
// zombie before its other threads are gone, and cannot be waited for until
// they are. The registry is locked.
//
// When this process is not a subreaper, orphans go to init and never come
// here: a zombie child that is not a run's main process is then other
// code's, whatever its session, and is left alone (nor is the process table
// read for nothing).
func reapLocked() (pending int) {
	if !orphansAdopted() {
		return 0
	}
	self := os.Getpid()
	selfSid, _ := unix.Getsid(0)
	for p, pi := range scanProcs() {
		if pi.ppid != self || !pi.zombie || pi.sid == selfSid || registry.mains[p] {
			continue
		}
		var ws unix.WaitStatus
		if got, err := unix.Wait4(p, &ws, unix.WNOHANG, nil); got == 0 && err == nil {
			pending++
		}
	}
	return pending
}
