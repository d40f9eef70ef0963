package darwin

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// This file holds the pure parts of Run: the command lines it starts and
// the process-tree walk of its kill, so that they are tested on any OS.

// commandLine returns the argv that runs cmd under prof:
// sandbox-exec -p PROFILE -D NAME=VALUE... -- cmd...
// "--" ends sandbox-exec's options, so a command starting with "-" is not
// taken for one.
func commandLine(prof *Profile, cmd []string) []string {
	argv := append([]string{SandboxExec}, prof.Args()...)
	argv = append(argv, "--")
	return append(argv, cmd...)
}

// HelperRole is the first argument that makes a binary embedding this
// package act as the limits helper instead of doing its normal work (see
// helper_darwin.go): set the resource limits, then execute the rest of the
// command line. Seatbelt has no resource limits, and Go's os/exec cannot set
// rlimits in a child between fork and exec, so sbx re-executes its own
// plugin binary, which sets them on itself and then becomes sandbox-exec.
const HelperRole = "__sbx-darwin-limits"

// helperArgs are the helper's parsed arguments.
type helperArgs struct {
	// extraProcs is the number of processes the command's tree may add to
	// the user's current count (RLIMIT_NPROC); 0 means no limit.
	extraProcs int64
	// argv is the command line to execute (sandbox-exec ...).
	argv []string
}

// helperCommandLine returns the argv that runs argv through the helper
// binary exe with the given limits.
func helperCommandLine(exe string, a helperArgs) []string {
	out := []string{exe, HelperRole, "-nproc", strconv.FormatInt(a.extraProcs, 10), "--"}
	return append(out, a.argv...)
}

// errHelperUsage is returned for a malformed helper command line.
var errHelperUsage = errors.New("usage: " + HelperRole + " -nproc N -- COMMAND...")

// parseHelperArgs parses the arguments after HelperRole.
func parseHelperArgs(args []string) (helperArgs, error) {
	var a helperArgs
	for len(args) > 0 {
		switch args[0] {
		case "--":
			a.argv = args[1:]
			if len(a.argv) == 0 {
				return a, fmt.Errorf("no command after --: %w", errHelperUsage)
			}
			return a, nil
		case "-nproc":
			if len(args) < 2 {
				return a, fmt.Errorf("-nproc needs a value: %w", errHelperUsage)
			}
			n, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil || n < 0 {
				return a, fmt.Errorf("-nproc %q: want a whole number ≥ 0: %w", args[1], errHelperUsage)
			}
			a.extraProcs = n
			args = args[2:]
		default:
			return a, fmt.Errorf("unknown argument %q: %w", args[0], errHelperUsage)
		}
	}
	return a, fmt.Errorf("no -- COMMAND: %w", errHelperUsage)
}

// nprocLimit is the RLIMIT_NPROC value that lets the command's tree have
// extra processes (the command itself included) on top of the user's other
// processes: current counts the user's processes, the helper (which becomes
// the command) among them.
func nprocLimit(current int, extra int64) uint64 {
	others := int64(current) - 1
	if others < 0 {
		others = 0
	}
	return uint64(others + extra)
}

// procEntry is one process of a process-table snapshot.
type procEntry struct {
	pid, ppid, pgid int
}

// treeOf returns the processes to kill for the tree rooted at root: the
// members of its process group (root's session: proc made the command a
// session leader), including those whose parent already exited, and their
// live descendants, found through parent links, so including those that
// left the group with setsid. When rootAlive, root's own descendants are
// included too; when root has exited its pid may belong to someone else by
// now, so its "children" are not followed. root itself is not in the
// result. The result is sorted.
func treeOf(procs []procEntry, root int, rootAlive bool) []int {
	children := map[int][]int{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	seen := map[int]bool{root: true}
	var queue []int
	if rootAlive {
		queue = append(queue, root)
	}
	for _, p := range procs {
		if p.pgid == root && !seen[p.pid] {
			seen[p.pid] = true
			queue = append(queue, p.pid)
		}
	}
	var out []int
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if pid != root {
			out = append(out, pid)
		}
		for _, c := range children[pid] {
			// pid 0 and 1 (kernel, launchd) are never anyone's
			// descendants we may kill.
			if c <= 1 || seen[c] {
				continue
			}
			seen[c] = true
			queue = append(queue, c)
		}
	}
	sort.Ints(out)
	return out
}
