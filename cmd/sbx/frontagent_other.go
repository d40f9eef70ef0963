//go:build !linux

package main

import (
	"fmt"
	"io"
	"time"

	"github.com/sbxdev/sbx/core"
)

// serveFrontAgent is Linux-only, like plugin agents.
func serveFrontAgent(socket string, idle time.Duration, log io.Writer) error {
	return fmt.Errorf("the sbx front-end agent runs on Linux only: %w", core.ErrUnsupported)
}

// startFrontAgent is nil here: no front-end agent outside Linux.
var startFrontAgent func(socket string, idle time.Duration) (int, error)

// localAgents lists nothing here: agents are Linux-only.
func localAgents(getenv func(string) string) ([]agentRow, error) { return nil, nil }
