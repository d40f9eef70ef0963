//go:build unix

package main

import (
	"os"
	"syscall"
)

// resizeSignals are the signals that say the terminal was resized.
var resizeSignals = []os.Signal{syscall.SIGWINCH}
