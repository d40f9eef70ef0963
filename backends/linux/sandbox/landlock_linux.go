//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
)

// The Landlock system calls are made directly (x/sys/unix numbers and
// constants) rather than through go-landlock: its all-threads calls link
// libcap's psx and so cgo into the helper, which alone costs about a
// millisecond per start. All threads are restricted with Go's own
// syscall.AllThreadsSyscall, available when cgo is not linked (the
// dedicated helper); in a binary with cgo (the plugin re-executed as the
// helper) only the calling thread is restricted. That is enough for the
// command: the helper locks the thread that confines itself and executes
// (or forks) the command from it, and execve keeps only that thread.

// rulesetAttr is struct landlock_ruleset_attr (ABI 6 fields).
type rulesetAttr struct {
	handledAccessFS  uint64
	handledAccessNet uint64
	scoped           uint64
}

// pathBeneathAttr is struct landlock_path_beneath_attr, which the kernel
// declares packed (12 bytes): the Go layout matches on its first 12.
type pathBeneathAttr struct {
	allowedAccess uint64
	parentFd      int32
}

// allThreads runs a system call on every thread of the process when Go
// can (no cgo), else on the calling thread only.
func allThreads(trap, a1, a2, a3 uintptr) syscall.Errno {
	_, _, e := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	if e == syscall.ENOTSUP {
		_, _, e = syscall.RawSyscall(trap, a1, a2, a3)
	}
	return e
}

// setNoNewPrivs sets no_new_privs (on every thread when possible): setuid
// binaries cannot regain privileges, and seccomp and Landlock may be used
// without privilege.
func setNoNewPrivs() error {
	if e := allThreads(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", e)
	}
	return nil
}

// applyLandlock enforces ll on this process (and so on whatever it
// executes). It is strict: the ruleset is built for exactly the planned
// ABI and fails when the kernel offers less, never downgrading silently.
// Rule paths are opened with O_NOFOLLOW and must still be of the planned
// kind, so a path swapped for a symlink since the plan is refused rather
// than followed.
func applyLandlock(ll *Landlock) error {
	abi, note := LandlockABI()
	if abi < ll.ABI {
		return fmt.Errorf("%w: the plan needs Landlock ABI %d, the kernel offers %d (%s)", core.ErrUnsupported, ll.ABI, abi, note)
	}
	attr := rulesetAttr{handledAccessFS: ll.HandledFS, handledAccessNet: ll.HandledNet, scoped: ll.Scoped}
	r, _, e := syscall.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if e != 0 {
		return fmt.Errorf("%w: landlock_create_ruleset(fs=%#x net=%#x scoped=%#x): %v", core.ErrUnsupported, ll.HandledFS, ll.HandledNet, ll.Scoped, e)
	}
	rfd := int(r)
	defer unix.Close(rfd)
	for _, r := range ll.Rules {
		if err := addPathRule(rfd, r); err != nil {
			return err
		}
	}
	if ll.Terminal != 0 {
		for fd := 0; fd <= 2; fd++ {
			if !isTerminal(fd) {
				continue
			}
			// The rule is attached to the terminal's inode through the
			// open descriptor: no path is looked up, nothing can be
			// swapped in between.
			if err := addRule(rfd, fd, ll.Terminal); err != nil {
				return fmt.Errorf("%w: landlock rule for the run's terminal (fd %d): %v", core.ErrPermission, fd, err)
			}
		}
	}
	if err := setNoNewPrivs(); err != nil {
		return fmt.Errorf("%w: %v", core.ErrPermission, err)
	}
	if e := allThreads(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rfd), 0, 0); e != 0 {
		return fmt.Errorf("%w: landlock_restrict_self: %v", core.ErrPermission, e)
	}
	return nil
}

func addPathRule(rfd int, r Rule) error {
	fd, err := unix.Open(r.Path, unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("%w: landlock rule for %s: %v (did it change since the plan?)", core.ErrPermission, r.Path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%w: landlock rule for %s: %v", core.ErrPermission, r.Path, err)
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if isLink || isDir != r.Dir {
		kind := "file"
		if r.Dir {
			kind = "directory"
		}
		return fmt.Errorf("%w: %s is no longer a %s; refusing to grant access to it (plan again)", core.ErrPermission, r.Path, kind)
	}
	if err := addRule(rfd, fd, r.Access); err != nil {
		return fmt.Errorf("%w: landlock_add_rule(%s, %#x): %v", core.ErrPermission, r.Path, r.Access, err)
	}
	return nil
}

// addRule grants access beneath the file open as fd.
func addRule(rfd, fd int, access uint64) error {
	attr := pathBeneathAttr{allowedAccess: access, parentFd: int32(fd)}
	_, _, e := syscall.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rfd), unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// MaxLandlockABI is the highest Landlock ABI this build knows (the rights
// of go-landlock v0.11).
const MaxLandlockABI = 11

// LandlockABI asks the kernel for its Landlock ABI version, lowered like
// go-landlock does when the signal-scoping erratum is not fixed.
func LandlockABI() (int, string) {
	r, _, e := syscall.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 {
		switch {
		case errors.Is(e, syscall.ENOSYS):
			return 0, "the kernel has no Landlock (Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK)"
		case errors.Is(e, syscall.EOPNOTSUPP):
			return 0, "Landlock is built in but not enabled: add landlock to the lsm= kernel boot parameter"
		default:
			return 0, "landlock_create_ruleset version query failed: " + e.Error()
		}
	}
	v, note := int(r), ""
	if v >= 6 {
		errata, _, e := syscall.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_ERRATA)
		if e != 0 || errata&0x2 == 0 {
			v, note = 5, "kernel reports ABI 6+ without the signal-scoping fix (erratum 2): used as ABI 5"
		}
	}
	if v > MaxLandlockABI {
		note = fmt.Sprintf("kernel ABI %d, this build knows up to %d", v, MaxLandlockABI)
		v = MaxLandlockABI
	}
	return v, note
}
