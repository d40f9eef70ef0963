package proc

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

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

// procInfo is what /proc/PID/stat says about a process.
type procInfo struct {
	ppid, pgid, sid int
	zombie          bool
}

// scanProcs reads /proc/*/stat. A process that disappears meanwhile is
// skipped; without /proc the result is empty (the tree kill then falls back
// to the process group).
func scanProcs() map[int]procInfo {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	out := make(map[int]procInfo, len(names))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if pi, ok := readStat(pid); ok {
			out[pid] = pi
		}
	}
	return out
}

// readStat parses /proc/PID/stat: "pid (comm) state ppid pgrp session ...".
// comm may contain spaces and parentheses, so fields are taken after the
// last ')'.
func readStat(pid int) (procInfo, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 4 {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	sid, err3 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return procInfo{}, false
	}
	return procInfo{ppid: ppid, pgid: pgid, sid: sid, zombie: f[0] == "Z" || f[0] == "X"}, true
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
		for p := range stopped {
			_ = unix.Kill(p, unix.SIGKILL)
		}
		reapLocked(scanProcs())
		registry.Unlock()
		if len(stopped) == 0 {
			return
		}
		// Killed processes take a moment to become zombies; look again.
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
}

// defaultKillTree is the tree kill used when Spec.KillTree is not set.
func (r *run) defaultKillTree() {
	killTree(r.pid, func() bool { return !r.waited.Load() })
}

// reapOrphans reaps the zombie orphans reparented to this process.
func reapOrphans() {
	registry.Lock()
	defer registry.Unlock()
	reapLocked(scanProcs())
}

// reapLocked reaps, one pid at a time, the zombie children of this process
// that are neither a run's main process (exec.Cmd.Wait reaps those) nor in
// this process's session (other code's exec.Cmd children). A blanket
// wait(-1) would steal their exit statuses. The registry is locked.
func reapLocked(snap map[int]procInfo) {
	self := os.Getpid()
	selfSid, _ := unix.Getsid(0)
	for p, pi := range snap {
		if pi.ppid != self || !pi.zombie || pi.sid == selfSid || registry.mains[p] {
			continue
		}
		var ws unix.WaitStatus
		_, _ = unix.Wait4(p, &ws, unix.WNOHANG, nil)
	}
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
