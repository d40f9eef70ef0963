//go:build unix && !linux

package inherit

import "golang.org/x/sys/unix"

// OnlyStdio marks every descriptor of this process above 2 close-on-exec;
// descriptors stay open for this process itself.
func OnlyStdio() error {
	return eachOpen(func(fd int) error {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		return err
	})
}
