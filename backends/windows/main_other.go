//go:build !windows

package windows

import (
	"fmt"
	"os"
)

// RunnerMain is the command runner; it only runs on Windows.
func RunnerMain(args []string) int {
	fmt.Fprintln(os.Stderr, "sbx-windows-runner:", errNotWindows)
	return 2
}

// SetupMain is the elevated setup; it only runs on Windows.
func SetupMain(args []string) int {
	fmt.Fprintln(os.Stderr, "sbx-windows-setup:", errNotWindows)
	return 2
}
