//go:build linux && !cgo

package linux

import (
	"fmt"

	"github.com/sbxdev/sbx/core"
)

// errNoCgo is why seccomp is unavailable in a build without cgo.
var errNoCgo = fmt.Errorf("%w: built without cgo: seccomp unavailable; rebuild with CGO_ENABLED=1", core.ErrUnsupported)

func probeSeccomp() (bool, string) { return false, errNoCgo.Error() }
