package proc

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// processUmask is this process's file mode creation mask, read once from
// /proc/thread-self/status: reading it with umask(2) would change it for a
// moment under the feet of every other thread. Not /proc/self/status, which
// shows the main thread's, and the main thread may be one that a run
// locked and gave a mask of its own (Go never runs anything on it again,
// but its mask stays).
var processUmask = onceUmask()

// onceUmask returns the function that reads the process's mask once.
func onceUmask() func() (uint32, error) { return sync.OnceValues(readUmask) }

// readUmask reads the calling thread's mask, which is the process's on
// every thread Go runs code on.
func readUmask() (uint32, error) {
	f, err := os.Open("/proc/thread-self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			u, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return uint32(u), err
		}
	}
	return 0, fmt.Errorf("no Umask line in /proc/thread-self/status")
}

// threadUmask gives the calling thread, which the caller has locked, the
// mask u for the child it is about to fork. When u is the process's mask
// already it does nothing and returns false. Otherwise it unshares the
// thread's file-system attributes (CLONE_FS: root, current directory,
// umask) from the rest of the process, sets u on it alone, and returns
// true: the caller must then never unlock the thread, so that the runtime
// retires it when the goroutine ends instead of running other goroutines
// on a thread whose attributes differ from the process's.
func threadUmask(u uint32) (bool, error) {
	if u > 0o777 {
		return false, fmt.Errorf("umask %o has bits beyond 0777", u)
	}
	if cur, err := processUmask(); err == nil && cur == u {
		return false, nil
	}
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return false, fmt.Errorf("unshare(CLONE_FS): %w", err)
	}
	unix.Umask(int(u))
	return true, nil
}
