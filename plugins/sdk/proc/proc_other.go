//go:build unix && !linux

package proc

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// BecomeSubreaper does nothing here: only Linux has child subreapers.
// Orphans of a run are reparented to init (launchd on macOS).
func BecomeSubreaper() error { return nil }

// setPdeathsig does nothing here: there is no parent-death signal.
func setPdeathsig(*syscall.SysProcAttr) {}

// pollableMaster keeps the pty master in blocking mode: kqueue does not
// work with ptys on macOS (golang/go#22099, creack/pty#52).
func pollableMaster(f *os.File) *os.File { return f }

func lockRegistry()         {}
func unlockRegistry()       {}
func register(int)          {}
func (r *run) childWaited() {}
func (r *run) release()     {}

// defaultKillTree SIGKILLs the command's process group (its session: setsid
// made the command the leader of both). Without /proc there is no portable
// way to find descendants that left the group (setsid, setpgid) without
// cgo, so those survive here; see the package documentation.
func (r *run) defaultKillTree() {
	_ = unix.Kill(-r.pid, unix.SIGKILL)
	if !r.waited.Load() {
		_ = unix.Kill(r.pid, unix.SIGKILL)
	}
}

// reapOrphans does nothing here: without a subreaper no orphan comes back.
func reapOrphans() {}

// waitReadable waits until fd or stop is readable (or hung up); stopped
// says stop was. It uses select(2): poll(2) does not work on terminals on
// macOS. Descriptors past FD_SETSIZE cannot be waited for that way: the
// read then just blocks.
func waitReadable(fd, stop int) (stopped bool, err error) {
	if fd >= unix.FD_SETSIZE || stop >= unix.FD_SETSIZE {
		return false, nil
	}
	for {
		var rs unix.FdSet
		rs.Set(fd)
		rs.Set(stop)
		_, err := unix.Select(max(fd, stop)+1, &rs, nil, nil, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, err
		}
		return rs.IsSet(stop), nil
	}
}
