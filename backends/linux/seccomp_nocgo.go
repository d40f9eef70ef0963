//go:build linux && !cgo

package linux

import (
	"fmt"

	"github.com/sbxdev/sbx/core"
)

// errNoCgo is why seccomp is unavailable in a build without cgo.
var errNoCgo = fmt.Errorf("%w: built without cgo: seccomp unavailable; rebuild with CGO_ENABLED=1", core.ErrUnsupported)

func probeSeccomp() (bool, string) { return false, errNoCgo.Error() }

// compileSeccomp cannot work without libseccomp; plans never ask for it in
// this build because probeSeccomp says so.
func compileSeccomp(sp *SeccompPlan) ([]byte, error) { return nil, errNoCgo }
