//go:build unix

package inherit

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// inheritable opens a file whose descriptor is not close-on-exec, as one
// inherited from a careless parent would be.
func inheritable(t *testing.T) int {
	t.Helper()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(int(f.Fd())) // dup(2) clears close-on-exec
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if closeOnExec(t, fd) {
		t.Fatal("dup(2) returned a close-on-exec descriptor")
	}
	return fd
}

// closeOnExec reports whether fd is close-on-exec.
func closeOnExec(t *testing.T, fd int) bool {
	t.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatalf("fcntl(%d, F_GETFD): %v", fd, err)
	}
	return flags&unix.FD_CLOEXEC != 0
}

func TestOnlyStdio_MarksInheritedDescriptorsCloseOnExecAndKeepsThemOpen(t *testing.T) {
	fd := inheritable(t)
	if err := OnlyStdio(); err != nil {
		t.Fatal(err)
	}
	if !closeOnExec(t, fd) {
		t.Errorf("descriptor %d is still inherited by programs this process starts", fd)
	}
	for std := 0; std <= 2; std++ {
		if closeOnExec(t, std) {
			t.Errorf("standard descriptor %d became close-on-exec", std)
		}
	}
}

func TestEachOpen_TheFallbackWithoutCloseRangeFindsEveryDescriptor(t *testing.T) {
	fd := inheritable(t)
	seen := false
	err := eachOpen(func(got int) error {
		if got <= 2 {
			t.Errorf("standard descriptor %d offered", got)
		}
		seen = seen || got == fd
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Errorf("descriptor %d was not offered", fd)
	}
}
