//go:build linux && cgo

package sandbox

import (
	"fmt"

	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

var errnos = map[string]unix.Errno{"EPERM": unix.EPERM, "ENOSYS": unix.ENOSYS, "EAFNOSUPPORT": unix.EAFNOSUPPORT}

// applySeccomp loads sp's filter on every thread of this process (TSYNC)
// with no_new_privs set. Syscalls libseccomp does not know on this
// architecture are skipped: they cannot be called through the native
// table, and other tables are killed (bad-arch action).
func applySeccomp(sp *Seccomp) error {
	f, err := seccomp.NewFilter(seccomp.ActAllow)
	if err != nil {
		return fmt.Errorf("seccomp: new filter: %w", err)
	}
	defer f.Release()
	if err := f.SetBadArchAction(seccomp.ActKillProcess); err != nil {
		return fmt.Errorf("seccomp: bad-arch action: %w", err)
	}
	if err := f.SetNoNewPrivsBit(true); err != nil {
		return fmt.Errorf("seccomp: no_new_privs: %w", err)
	}
	// A binary tree of syscall numbers instead of a linear list: every
	// allowed syscall pays a few comparisons, not one per rule. Older
	// libseccomp without it just keeps the linear list.
	_ = f.SetOptimize(2)
	for _, r := range sp.Rules {
		sc, err := seccomp.GetSyscallFromName(r.Syscall)
		if err != nil {
			continue
		}
		errno, ok := errnos[r.Errno]
		if !ok {
			return fmt.Errorf("seccomp: unknown errno %q in plan", r.Errno)
		}
		act := seccomp.ActErrno.SetReturnCode(int16(errno))
		if r.Arg == nil {
			err = f.AddRule(sc, act)
		} else {
			var cond seccomp.ScmpCondition
			switch r.Arg.Op {
			case "ne":
				cond, err = seccomp.MakeCondition(r.Arg.Index, seccomp.CompareNotEqual, r.Arg.Value)
			case "masked_eq":
				cond, err = seccomp.MakeCondition(r.Arg.Index, seccomp.CompareMaskedEqual, r.Arg.Mask, r.Arg.Value)
			default:
				return fmt.Errorf("seccomp: unknown comparison %q in plan", r.Arg.Op)
			}
			if err == nil {
				err = f.AddRuleConditional(sc, act, []seccomp.ScmpCondition{cond})
			}
		}
		if err != nil {
			return fmt.Errorf("seccomp: rule %s: %w", r.Syscall, err)
		}
	}
	if err := f.Load(); err != nil {
		return fmt.Errorf("seccomp: load: %w", err)
	}
	return nil
}
