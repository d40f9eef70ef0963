package agentenv

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// contextLimits are the resource limits a command inherits and an agent
// must therefore share with its callers. RLIMIT_NOFILE's soft limit is left
// out: every Go program raises it at start (and restores it for the
// programs it starts), so it is the same in all of them.
var contextLimits = []int{unix.RLIMIT_AS, unix.RLIMIT_CORE, unix.RLIMIT_CPU, unix.RLIMIT_DATA,
	unix.RLIMIT_FSIZE, unix.RLIMIT_MEMLOCK, unix.RLIMIT_NPROC, unix.RLIMIT_STACK, unix.RLIMIT_NOFILE}

// ProcessContext describes what a command inherits from the process that
// starts it besides its environment and streams: the cgroups (resource
// limits and accounting, and what a CI system kills a job by), the
// supplementary groups, the resource limits and the nice value. Processes
// whose contexts differ must not share an agent.
func ProcessContext() string {
	var b strings.Builder
	if cg, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		b.Write(cg)
	}
	groups, _ := unix.Getgroups()
	sort.Ints(groups)
	fmt.Fprintf(&b, "groups %v", groups)
	for _, r := range contextLimits {
		var l unix.Rlimit
		if unix.Getrlimit(r, &l) == nil {
			if r == unix.RLIMIT_NOFILE {
				l.Cur = 0
			}
			fmt.Fprintf(&b, " %d:%d/%d", r, l.Cur, l.Max)
		}
	}
	nice, _ := unix.Getpriority(unix.PRIO_PROCESS, 0)
	fmt.Fprintf(&b, " nice %d", nice)
	return b.String()
}
