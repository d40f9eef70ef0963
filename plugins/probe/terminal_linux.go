package probe

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// openTerminal creates a pseudo terminal for the TIOCSTI probe: the
// harness holds both ends (so the terminal stays usable whoever opens it)
// and drains what is written or pushed into it. It returns the path of
// the terminal and a closer for both ends.
func openTerminal() (string, io.Closer, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return "", nil, err
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return "", nil, err
	}
	path := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return "", nil, err
	}
	go func() { _, _ = io.Copy(io.Discard, master) }()
	return path, closers{slave, master}, nil
}

// closers closes several things in order.
type closers []io.Closer

func (cs closers) Close() error {
	for _, c := range cs {
		_ = c.Close()
	}
	return nil
}
