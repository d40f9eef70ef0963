//go:build !linux

package host

import (
	"context"
	"errors"
)

// Plugin agents are Linux-only: their safety rests on the kernel's view of
// the peer (see agent_linux.go).
const agentSupported = false

func (h *Host) startAgent(ctx context.Context, path string) (*pluginProc, error) {
	return nil, errors.New("plugin agents are Linux-only")
}

// agentAlive is never asked here: there are no agents.
func agentAlive(pid int) bool { return false }
