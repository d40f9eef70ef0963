//go:build !unix

package main

import "os"

// resizeSignals is empty where there is no SIGWINCH (Windows): the window
// size is then only sent once, at the start of the run.
var resizeSignals []os.Signal
