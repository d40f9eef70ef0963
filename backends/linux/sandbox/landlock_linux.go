//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"syscall"

	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
)

// The Landlock system calls go through go-landlock's syscall package
// (github.com/landlock-lsm/go-landlock/landlock/syscall), at the level of
// rulesets and rules: the plan already says exactly which access rights
// are handled and granted for which ABI, so go-landlock's higher-level
// Config (which derives them from an ABI preset and may downgrade) is not
// what the helper needs.
//
// no_new_privs, the Landlock domain and the seccomp filter are applied to
// the calling thread only, which the helper has locked (see confine): it
// is the thread that executes the command (execve ends every other thread
// and keeps the caller's credentials, domain and filter) or forks it (a
// child inherits them from the thread that forks). The all-threads
// variants (psx signalling every runtime thread, seccomp TSYNC) confined
// threads that never run the command, for ≈ 0.4 ms per run.

// setNoNewPrivs sets no_new_privs on the calling thread: setuid binaries
// cannot regain privileges, and seccomp and Landlock may be used without
// privilege.
func setNoNewPrivs() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	return nil
}

// applyLandlock enforces ll on the calling thread (and so on whatever it
// executes or forks). The caller has set no_new_privs, which landlock_restrict_self
// requires without CAP_SYS_ADMIN. It is strict: the ruleset is built for exactly the planned
// ABI and fails when the kernel offers less, never downgrading silently.
// Rule paths are opened with O_NOFOLLOW and must still be of the planned
// kind, so a path swapped for a symlink since the plan is refused rather
// than followed.
func applyLandlock(ll *Landlock) error {
	abi, note := LandlockABI()
	if abi < ll.ABI {
		return fmt.Errorf("%w: the plan needs Landlock ABI %d, the kernel offers %d (%s)", core.ErrUnsupported, ll.ABI, abi, note)
	}
	attr := llsys.RulesetAttr{HandledAccessFS: ll.HandledFS, HandledAccessNet: ll.HandledNet, Scoped: ll.Scoped}
	rfd, err := llsys.LandlockCreateRuleset(&attr, 0)
	if err != nil {
		return fmt.Errorf("%w: landlock_create_ruleset(fs=%#x net=%#x scoped=%#x): %v", core.ErrUnsupported, ll.HandledFS, ll.HandledNet, ll.Scoped, err)
	}
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
	if err := llsys.LandlockRestrictSelf(rfd, 0); err != nil {
		return fmt.Errorf("%w: landlock_restrict_self: %v", core.ErrPermission, err)
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
	return llsys.LandlockAddPathBeneathRule(rfd, &llsys.PathBeneathAttr{AllowedAccess: access, ParentFd: fd}, 0)
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
	r, e := llsys.LandlockGetABIVersion()
	if e != nil {
		switch {
		case errors.Is(e, syscall.ENOSYS):
			return 0, "the kernel has no Landlock (Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK)"
		case errors.Is(e, syscall.EOPNOTSUPP):
			return 0, "Landlock is built in but not enabled: add landlock to the lsm= kernel boot parameter"
		default:
			return 0, "landlock_create_ruleset version query failed: " + e.Error()
		}
	}
	v, note := r, ""
	if v >= 6 {
		errata, e := llsys.LandlockGetErrata()
		if e != nil || errata&0x2 == 0 {
			v, note = 5, "kernel reports ABI 6+ without the signal-scoping fix (erratum 2): used as ABI 5"
		}
	}
	if v > MaxLandlockABI {
		note = fmt.Sprintf("kernel ABI %d, this build knows up to %d", v, MaxLandlockABI)
		v = MaxLandlockABI
	}
	return v, note
}
