//go:build linux

package linux

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/backends/linux/sandbox"
	"github.com/sbxdev/sbx/core"
)

// Probe finds out, once, what this host offers: the Landlock ABI, seccomp,
// whether user namespaces can be created (by trying), and the cgroup
// setup. It never parses another program's output.
func Probe() Facts {
	f := Facts{UID: os.Geteuid(), GID: os.Getegid()}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		f.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	f.Helper, _, f.HelperNote = findHelper()
	f.LandlockABI, f.LandlockNote = sandbox.LandlockABI()
	f.Seccomp, f.SeccompNote = probeSeccomp()
	f.UserNS, f.UserNSNote = probeUserNS(f.Helper)
	f.Cgroup = probeCgroup(f.UID)
	f.TmpDirs = core.UnixTmpDirs(os.Getenv)
	return f
}

// probeUserNS starts the helper in new user, mount, pid and network
// namespaces (the role sandbox.RoleProbe), which mounts a tmpfs and a proc
// there and exits: the same operations a namespaces run needs.
func probeUserNS(helper string) (bool, string) {
	if helper == "" {
		return false, "cannot find the sandbox helper to probe user namespaces"
	}
	var stderr bytes.Buffer
	cmd := &exec.Cmd{Path: helper, Args: []string{sandbox.RoleProbe}, Stderr: &stderr, Dir: "/"}
	uidMap, gidMap := idMaps(os.Geteuid(), os.Getegid())
	cmd.SysProcAttr = nsSysProcAttr(uidMap, gidMap, true)
	err := cmd.Run()
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

// nsSysProcAttr returns the clone flags and the id maps uidMap and gidMap
// (see idMaps) of a namespaces helper. withNet adds a network namespace.
func nsSysProcAttr(uidMap, gidMap *IDMap, withNet bool) *syscall.SysProcAttr {
	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS)
	if withNet {
		flags |= unix.CLONE_NEWNET
	}
	a := &syscall.SysProcAttr{
		Cloneflags:  flags,
		Pdeathsig:   syscall.SIGKILL,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uidMap.Inside, HostID: uidMap.Outside, Size: int(uidMap.Count)}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gidMap.Inside, HostID: gidMap.Outside, Size: int(gidMap.Count)}},
	}
	if uidMap.Inside == 0 {
		// Root's map of every id: setgroups stays allowed (an
		// unprivileged single-id gid map needs it denied).
		a.GidMappingsEnableSetgroups = true
	} else {
		// The helper is not uid 0 inside, so it keeps the capabilities it
		// needs for mounts and the loopback through the ambient set.
		a.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SETPCAP}
	}
	return a
}
