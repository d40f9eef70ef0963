//go:build unix

package inherit

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// eachOpen calls fn for every open descriptor above 2 listed in /dev/fd
// (macOS, and Linux kernels without close_range); a descriptor closed
// meanwhile (the one that read the directory) is skipped.
func eachOpen(fn func(fd int) error) error {
	d, err := os.Open("/dev/fd")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	self := int(d.Fd())
	d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 || fd == self {
			continue
		}
		if err := fn(fd); err != nil && err != unix.EBADF {
			return err
		}
	}
	return nil
}
