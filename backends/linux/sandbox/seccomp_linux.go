//go:build linux

package sandbox

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccomp(2) operation (linux/seccomp.h).
const (
	seccompSetModeFilter = 1
	bpfMaxInstructions   = 4096 // BPF_MAXINSNS
)

// applySeccomp loads the BPF program the plugin compiled (with libseccomp)
// on the calling thread, which executes or forks the command (see
// confine). The caller has set no_new_privs, which loading a filter
// without CAP_SYS_ADMIN requires.
func applySeccomp(sp *Seccomp) error {
	n := len(sp.BPF) / int(unsafe.Sizeof(unix.SockFilter{}))
	if n == 0 || n > bpfMaxInstructions || len(sp.BPF)%int(unsafe.Sizeof(unix.SockFilter{})) != 0 {
		return fmt.Errorf("seccomp: malformed BPF program (%d bytes)", len(sp.BPF))
	}
	// Copy into properly typed and aligned instructions.
	prog := make([]unix.SockFilter, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(sp.BPF)), sp.BPF)
	fprog := unix.SockFprog{Len: uint16(n), Filter: &prog[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, seccompSetModeFilter, 0, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return fmt.Errorf("seccomp: loading the filter: %w", errno)
	}
	return nil
}
