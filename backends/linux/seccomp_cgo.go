//go:build linux && cgo

package linux

import (
	"fmt"
	"io"
	"os"

	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// probeSeccomp checks that libseccomp is usable and the kernel has seccomp
// filters.
func probeSeccomp() (bool, string) {
	api, err := seccomp.GetAPI()
	if err != nil || api < 1 {
		return false, fmt.Sprintf("libseccomp API unavailable (api %d): %v", api, err)
	}
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil {
		return false, "the kernel has no seccomp (CONFIG_SECCOMP_FILTER): " + err.Error()
	}
	return true, ""
}

var errnos = map[string]unix.Errno{"EPERM": unix.EPERM, "ENOSYS": unix.ENOSYS, "EAFNOSUPPORT": unix.EAFNOSUPPORT}

// compileSeccomp builds sp's filter with libseccomp and returns the BPF
// program, which the helper loads (on every thread, with no_new_privs)
// without needing libseccomp or cgo itself. Syscalls libseccomp does not
// know on this architecture are skipped: they cannot be called through the
// native table, and other tables are killed (bad-arch action).
func compileSeccomp(sp *SeccompPlan) ([]byte, error) {
	f, err := seccomp.NewFilter(seccomp.ActAllow)
	if err != nil {
		return nil, fmt.Errorf("seccomp: new filter: %w", err)
	}
	defer f.Release()
	if err := f.SetBadArchAction(seccomp.ActKillProcess); err != nil {
		return nil, fmt.Errorf("seccomp: bad-arch action: %w", err)
	}
	if err := f.SetNoNewPrivsBit(true); err != nil {
		return nil, fmt.Errorf("seccomp: no_new_privs: %w", err)
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
			return nil, fmt.Errorf("seccomp: unknown errno %q in plan", r.Errno)
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
				return nil, fmt.Errorf("seccomp: unknown comparison %q in plan", r.Arg.Op)
			}
			if err == nil {
				err = f.AddRuleConditional(sc, act, []seccomp.ScmpCondition{cond})
			}
		}
		if err != nil {
			return nil, fmt.Errorf("seccomp: rule %s: %w", r.Syscall, err)
		}
	}
	// Exported through a memfd: libseccomp before 2.6 cannot export to
	// memory, and a pipe could fill up.
	fd, err := unix.MemfdCreate("sbx-seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("seccomp: memfd for the BPF program: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "sbx-seccomp-bpf")
	defer mem.Close()
	if err := f.ExportBPF(mem); err != nil {
		return nil, fmt.Errorf("seccomp: exporting the BPF program: %w", err)
	}
	if _, err := mem.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(mem)
}
