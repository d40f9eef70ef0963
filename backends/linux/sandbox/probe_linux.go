//go:build linux

package sandbox

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// runProbe is the RoleProbe helper: inside the new namespaces, mount what a
// run mounts, then exit 0; any failure is written on stderr, exit 1.
func runProbe() int {
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "%s: %v", what, err)
		return 1
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fail("making / a private mount", err)
	}
	if err := unix.Mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		return fail("mounting a tmpfs", err)
	}
	if err := os.Mkdir("/tmp/proc", 0o700); err != nil {
		return fail("mkdir in the tmpfs", err)
	}
	if err := unix.Mount("proc", "/tmp/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fail("mounting /proc for a new pid namespace (a container that masks /proc?)", err)
	}
	return 0
}
