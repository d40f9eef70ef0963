//go:build darwin

package darwin

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// helperExit is the helper's exit status when it fails before executing
// the command, as env(1) and timeout(1) report their own failures.
const helperExit = 125

// init turns a binary embedding this package into the limits helper when it
// is started as BINARY __sbx-darwin-limits -nproc N -- COMMAND... (see
// HelperRole). It runs before main, so the plugin's main stays one line;
// any other command line is left alone.
func init() {
	if len(os.Args) < 2 || os.Args[1] != HelperRole {
		return
	}
	os.Exit(helperMain(os.Args[2:]))
}

// helperMain sets the limits on this process, then replaces it with the
// command; it returns only on failure.
func helperMain(args []string) int {
	a, err := parseHelperArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sbx limits helper:", err)
		return helperExit
	}
	if a.extraProcs > 0 {
		if err := limitProcesses(a.extraProcs); err != nil {
			fmt.Fprintln(os.Stderr, "sbx limits helper:", err)
			return helperExit
		}
	}
	// argv[0] is an absolute path (sandbox-exec): no PATH lookup.
	err = syscall.Exec(a.argv[0], a.argv, os.Environ())
	fmt.Fprintf(os.Stderr, "sbx limits helper: execute %s: %v\n", a.argv[0], err)
	return helperExit
}

// limitProcesses sets RLIMIT_NPROC, soft and hard (so the command cannot
// raise it again), to the user's current process count plus extra.
func limitProcesses(extra int64) error {
	procs, err := unix.SysctlKinfoProcSlice("kern.proc.ruid", os.Getuid())
	if err != nil {
		return fmt.Errorf("count your processes: %w", err)
	}
	limit := nprocLimit(len(procs), extra)
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &cur); err == nil && cur.Max < limit {
		// The hard limit is lower already: keep it (it cannot be raised).
		limit = cur.Max
	}
	if err := unix.Setrlimit(unix.RLIMIT_NPROC, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		return fmt.Errorf("set RLIMIT_NPROC to %d: %w", limit, err)
	}
	return nil
}
