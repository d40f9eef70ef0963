//go:build linux

package sandbox

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccomp(2) operation and flag (linux/seccomp.h).
const (
	seccompSetModeFilter   = 1
	seccompFilterFlagTsync = 1
	bpfMaxInstructions     = 4096 // BPF_MAXINSNS
)

// applySeccomp loads the BPF program the plugin compiled (with libseccomp)
// on every thread of this process (TSYNC). The caller has set
// no_new_privs, which loading a filter without CAP_SYS_ADMIN requires.
func applySeccomp(sp *Seccomp) error {
	n := len(sp.BPF) / int(unsafe.Sizeof(unix.SockFilter{}))
	if n == 0 || n > bpfMaxInstructions || len(sp.BPF)%int(unsafe.Sizeof(unix.SockFilter{})) != 0 {
		return fmt.Errorf("seccomp: malformed BPF program (%d bytes)", len(sp.BPF))
	}
	// Copy into properly typed and aligned instructions.
	prog := make([]unix.SockFilter, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(sp.BPF)), sp.BPF)
	fprog := unix.SockFprog{Len: uint16(n), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, seccompSetModeFilter, seccompFilterFlagTsync, uintptr(unsafe.Pointer(&fprog)))
	switch {
	case errno != 0:
		return fmt.Errorf("seccomp: loading the filter: %w", errno)
	case r != 0:
		// With TSYNC, a positive result is a thread that could not be
		// synchronised.
		return fmt.Errorf("seccomp: thread %d could not take the filter", r)
	}
	return nil
}
