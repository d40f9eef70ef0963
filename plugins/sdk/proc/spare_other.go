//go:build !linux

package proc

import (
	"fmt"
	"os/exec"

	"github.com/sbxdev/sbx/core"
)

// Spare is a process started ahead of a run; only Linux has them (they
// serve plugin agents, which are Linux-only).
type Spare struct{}

// StartSpare is not supported here.
func StartSpare(path string, argv []string, configure func(*exec.Cmd) error) (*Spare, error) {
	return nil, fmt.Errorf("%w: spare processes are Linux-only", core.ErrUnsupported)
}

// Pid is 0: there are no spares here.
func (s *Spare) Pid() int { return 0 }

// Close does nothing.
func (s *Spare) Close() {}

// handToSpare cannot hand anything over: Run starts the command itself.
func (r *run) handToSpare(*Spare) <-chan waitResult { return nil }
