//go:build !windows

package windows

import (
	"context"
	"io"

	"github.com/sbxdev/sbx/core"
)

// otherPlatform is the platform off Windows: plans work (on FakeFacts),
// nothing else does.
type otherPlatform struct{}

func newPlatform() platform { return otherPlatform{} }

// Facts returns FakeFacts, so plans work, and the reason nothing else does.
func (otherPlatform) Facts(context.Context) (HostFacts, error) { return FakeFacts(), errNotWindows }

// Run, Setup and Status need Windows.
func (otherPlatform) Run(context.Context, *RunInput) (*core.RunResult, error) {
	return nil, errNotWindows
}

func (otherPlatform) Setup(context.Context, Mode, core.SetupRequest, HostFacts, io.Writer) error {
	return errNotWindows
}

func (otherPlatform) Status(context.Context, Mode, HostFacts) (core.SetupStatus, error) {
	return core.SetupStatus{}, errNotWindows
}
