//go:build linux

package linux

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// maxLandlockABI is the highest Landlock ABI this build knows (the rights
// of go-landlock v0.11).
const maxLandlockABI = 11

// Probe finds out, once, what this host offers: the Landlock ABI, seccomp,
// whether user namespaces can be created (by trying), and the cgroup
// setup. It never parses another program's output.
func Probe() Facts {
	f := Facts{UID: os.Geteuid(), GID: os.Getegid()}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		f.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	f.LandlockABI, f.LandlockNote = probeLandlock()
	f.Seccomp, f.SeccompNote = probeSeccomp()
	f.UserNS, f.UserNSNote = probeUserNS()
	f.Cgroup = probeCgroup(f.UID)
	f.TmpDirs = tmpDirs()
	return f
}

// tmpDirs returns /tmp and $TMPDIR when it is another absolute directory.
func tmpDirs() []string {
	out := []string{"/tmp"}
	if t := os.Getenv("TMPDIR"); filepath.IsAbs(t) && filepath.Clean(t) != "/tmp" {
		out = append(out, filepath.Clean(t))
	}
	return out
}

// landlockABI asks the kernel for its Landlock ABI version, lowered like
// go-landlock does when the signal-scoping erratum is not fixed.
func landlockABI() (int, string) {
	v, err := llsys.LandlockGetABIVersion()
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOSYS):
			return 0, "the kernel has no Landlock (Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK)"
		case errors.Is(err, syscall.EOPNOTSUPP):
			return 0, "Landlock is built in but not enabled: add landlock to the lsm= kernel boot parameter"
		default:
			return 0, "landlock_create_ruleset version query failed: " + err.Error()
		}
	}
	note := ""
	if v >= 6 {
		errata, err := llsys.LandlockGetErrata()
		if err != nil || errata&0x2 == 0 {
			v, note = 5, "kernel reports ABI 6+ without the signal-scoping fix (erratum 2): used as ABI 5"
		}
	}
	if v > maxLandlockABI {
		note = fmt.Sprintf("kernel ABI %d, this build knows up to %d", v, maxLandlockABI)
		v = maxLandlockABI
	}
	return v, note
}

func probeLandlock() (int, string) { return landlockABI() }

// probeUserNS starts this binary in new user, mount, pid and network
// namespaces (the helper role probeRole), which mounts a tmpfs and a proc
// there and exits: the same operations a namespaces run needs.
func probeUserNS() (bool, string) {
	self, err := os.Executable()
	if err != nil {
		return false, "cannot find the plugin binary to probe user namespaces: " + err.Error()
	}
	var stderr bytes.Buffer
	cmd := &exec.Cmd{Path: self, Args: []string{probeRole}, Stderr: &stderr, Dir: "/"}
	cmd.SysProcAttr = nsSysProcAttr(os.Geteuid(), os.Getegid(), true)
	err = cmd.Run()
	if err == nil {
		return true, ""
	}
	return false, userNSBlocked(err, strings.TrimSpace(stderr.String()))
}

// userNSBlocked explains why user namespaces failed and what to do.
func userNSBlocked(err error, detail string) string {
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	cause := err.Error()
	if detail != "" {
		cause = detail
	}
	const alt = "use --backend=linux-landlock"
	switch {
	case read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
		return "user namespaces are blocked by AppArmor (kernel.apparmor_restrict_unprivileged_userns=1): " + alt +
			", or allow them with an AppArmor profile granting userns to the plugin, or sysctl kernel.apparmor_restrict_unprivileged_userns=0 (" + cause + ")"
	case read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
		return "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0): " + alt +
			", or sysctl kernel.unprivileged_userns_clone=1 (" + cause + ")"
	case read("/proc/sys/user/max_user_namespaces") == "0":
		return "user namespaces are disabled (user.max_user_namespaces=0): " + alt + ", or raise user.max_user_namespaces (" + cause + ")"
	default:
		return "cannot create user namespaces here (a container's seccomp profile or missing privileges?): " + alt + " (" + cause + ")"
	}
}

// nsSysProcAttr returns the clone flags and id maps of a namespaces
// helper. withNet adds a network namespace.
func nsSysProcAttr(uid, gid int, withNet bool) *syscall.SysProcAttr {
	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS)
	if withNet {
		flags |= unix.CLONE_NEWNET
	}
	a := &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	if uid == 0 {
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 4294967295}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 4294967295}}
		a.GidMappingsEnableSetgroups = true
	} else {
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		// The helper is not uid 0 inside, so it keeps the capabilities it
		// needs for mounts and the loopback through the ambient set.
		a.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SETPCAP}
	}
	return a
}

// runProbe is the probeRole helper: inside the new namespaces, mount what a
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
