//go:build !linux

package linux

import (
	"context"
	"fmt"
	"runtime"

	"github.com/sbxdev/sbx/core"
)

// sparePool has nothing to keep here.
type sparePool struct{}

func newSparePool() *sparePool { return nil }

func run(ctx context.Context, req *core.RunRequest, pl *Plan, helper string, spares *sparePool) (*core.RunResult, error) {
	return nil, fmt.Errorf("%w: the Linux backend cannot run on %s", core.ErrUnsupported, runtime.GOOS)
}

// KeepSpares does nothing outside Linux.
func (b *Backend) KeepSpares() {}
