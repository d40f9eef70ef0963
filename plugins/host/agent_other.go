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

// AgentInfo describes a plugin agent (Linux only).
type AgentInfo struct {
	// Pid is the agent's process.
	Pid int `json:"pid"`
	// Binary is the plugin binary it runs.
	Binary string `json:"binary"`
	// Running is false for a stale record.
	Running bool `json:"running"`
}

// Agents lists nothing here: plugin agents are Linux-only.
func Agents(getenv func(string) string) ([]AgentInfo, error) { return nil, nil }

// AgentRecords reads nothing here: agents are Linux-only.
func AgentRecords(pattern string) []AgentInfo { return nil }

// RunsBinary is always false here: there are no agents to check.
func RunsBinary(pid int, path string) bool { return false }

// StopAgent does nothing here.
func StopAgent(a AgentInfo) error { return nil }
