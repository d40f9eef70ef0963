//go:build !linux

package linux

import (
	"context"
	"fmt"
	"runtime"

	"github.com/sbxdev/sbx/core"
)

// Reexec does nothing outside Linux: there are no helper roles.
func Reexec() {}

func run(ctx context.Context, req *core.RunRequest, pl *Plan, helper string) (*core.RunResult, error) {
	return nil, fmt.Errorf("%w: the Linux backend cannot run on %s", core.ErrUnsupported, runtime.GOOS)
}
