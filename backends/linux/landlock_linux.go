//go:build linux

package linux

import (
	"fmt"

	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
)

// applyLandlock enforces ll on every thread of this process (and so on
// whatever it executes). It is strict: the ruleset is built for exactly the
// planned ABI and fails when the kernel offers less, never downgrading
// silently. Rule paths are opened with O_NOFOLLOW and must still be of the
// planned kind, so a path swapped for a symlink since the plan is refused
// rather than followed.
func applyLandlock(ll *LandlockPlan) error {
	abi, note := landlockABI()
	if abi < ll.ABI {
		return fmt.Errorf("%w: the plan needs Landlock ABI %d, the kernel offers %d (%s)", core.ErrUnsupported, ll.ABI, abi, note)
	}
	attr := llsys.RulesetAttr{
		HandledAccessFS:  uint64(ll.HandledFS),
		HandledAccessNet: uint64(ll.HandledNet),
		Scoped:           uint64(ll.Scoped),
	}
	rfd, err := llsys.LandlockCreateRuleset(&attr, 0)
	if err != nil {
		return fmt.Errorf("%w: landlock_create_ruleset(fs=%s net=%s scoped=%s): %v", core.ErrUnsupported, ll.HandledFS, ll.HandledNet, ll.Scoped, err)
	}
	defer unix.Close(rfd)
	for _, r := range ll.Rules {
		if err := addPathRule(rfd, r); err != nil {
			return err
		}
	}
	if err := llsys.AllThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("%w: prctl(PR_SET_NO_NEW_PRIVS): %v", core.ErrPermission, err)
	}
	if err := llsys.AllThreadsLandlockRestrictSelf(rfd, 0); err != nil {
		return fmt.Errorf("%w: landlock_restrict_self: %v", core.ErrPermission, err)
	}
	return nil
}

func addPathRule(rfd int, r LandlockRule) error {
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
	if isLink || isDir != (r.Kind == KindDir) {
		return fmt.Errorf("%w: %s is no longer a %s; refusing to grant access to it (plan again)", core.ErrPermission, r.Path, r.Kind)
	}
	attr := llsys.PathBeneathAttr{AllowedAccess: uint64(r.Access), ParentFd: fd}
	if err := llsys.LandlockAddPathBeneathRule(rfd, &attr, 0); err != nil {
		return fmt.Errorf("%w: landlock_add_rule(%s, %s): %v", core.ErrPermission, r.Path, r.Access, err)
	}
	return nil
}
