//go:build linux

package host

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// setPluginProcAttr starts a plugin in its own session (so terminal
// signals and job control of the user's terminal never reach it directly:
// sbx forwards what the command should get) with SIGTERM as its
// parent-death signal: when sbx dies, even by SIGKILL, the plugin is told,
// kills every sandboxed process tree it runs, and exits.
//
// The parent-death signal fires when the thread that started the plugin
// exits; the Go runtime only retires threads locked by a goroutine that
// ended, which the plugin launch path never does.
func setPluginProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGTERM}
}

var subreaper bool

// becomeSubreaper makes this process a child subreaper: when a plugin dies,
// the processes it had started are reparented here instead of to init, and
// killOrphans can find and kill them.
func becomeSubreaper() {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err == nil {
		subreaper = true
	}
}

// killOrphans kills every child of this process that is not a running
// plugin of a live Host nor spared (an agent, KeepChild; see keptChildren),
// repeating until none is left (a killed orphan's own children are
// reparented here in turn), and reaps them. It does nothing unless this
// process is a subreaper.
func killOrphans() {
	if !subreaper {
		return
	}
	keep := keptChildren()
	for round := 0; round < 1000; round++ {
		kids := children(os.Getpid())
		n := 0
		for _, pid := range kids {
			if keep[pid] {
				continue
			}
			n++
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		for _, pid := range kids {
			if !keep[pid] {
				var ws unix.WaitStatus
				_, _ = unix.Wait4(pid, &ws, 0, nil)
			}
		}
		if n == 0 {
			return
		}
	}
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) []int {
	var out []int
	// /proc/PID/task/TID/children lists children per thread.
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}
