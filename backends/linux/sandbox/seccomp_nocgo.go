//go:build linux && !cgo

package sandbox

import (
	"fmt"

	"github.com/sbxdev/sbx/core"
)

// applySeccomp cannot work without libseccomp; the plugin's probe says so
// and plans never ask for it in such a build.
func applySeccomp(sp *Seccomp) error {
	return fmt.Errorf("%w: the sandbox helper was built without cgo: seccomp unavailable; rebuild it with CGO_ENABLED=1", core.ErrUnsupported)
}
