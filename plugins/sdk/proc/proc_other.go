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

// orphansAdopted is false: orphans of the runs go to init (launchd).
func orphansAdopted() bool { return false }

// selfChildren cannot be relied on here (no subreaper): the tree kill
// always scans the process table.
func selfChildren() (kids []int, ok bool) { return nil, false }

// setPdeathsig does nothing here: there is no parent-death signal.
func setPdeathsig(*syscall.SysProcAttr) {}

// checkPdeathsig has nothing to check here.
func checkPdeathsig(string, *syscall.SysProcAttr) error { return nil }

// pollableMaster keeps the pty master in blocking mode: kqueue does not
// work with ptys on macOS (golang/go#22099, creack/pty#52).
func pollableMaster(f *os.File) *os.File { return f }

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
