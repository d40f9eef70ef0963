//go:build linux && cgo

package linux

import (
	"fmt"

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
