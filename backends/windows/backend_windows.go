//go:build windows

package windows

import (
	"context"
	"io"

	"github.com/sbxdev/sbx/core"
)

// winPlatform is the real platform.
type winPlatform struct{}

func newPlatform() platform { return winPlatform{} }

// Facts detects the host (facts_windows.go).
func (winPlatform) Facts(ctx context.Context) (HostFacts, error) { return detectFacts(ctx) }

// Run runs in this process (unelevated) or through the runner (elevated).
func (winPlatform) Run(ctx context.Context, in *RunInput) (*core.RunResult, error) {
	return runWindows(ctx, in)
}

// Setup installs or undoes a mode's setup (run_windows.go).
func (winPlatform) Setup(ctx context.Context, m Mode, req core.SetupRequest, f HostFacts, progress io.Writer) error {
	return setupWindows(ctx, m, req, f, progress)
}

// Status reports the marker, credentials, filters and journaled ACEs.
func (winPlatform) Status(ctx context.Context, m Mode, f HostFacts) (core.SetupStatus, error) {
	return statusWindows(ctx, m, f)
}
