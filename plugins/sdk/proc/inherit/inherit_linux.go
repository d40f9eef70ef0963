package inherit

import (
	"math"

	"golang.org/x/sys/unix"
)

// OnlyStdio marks every descriptor of this process above 2 close-on-exec
// (close_range(2) with CLOSE_RANGE_CLOEXEC, Linux 5.11; one fcntl per open
// descriptor before that). Descriptors stay open for this process itself.
func OnlyStdio() error {
	err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if err != unix.ENOSYS && err != unix.EINVAL {
		return err
	}
	return eachOpen(func(fd int) error {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		return err
	})
}
