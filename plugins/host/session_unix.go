//go:build unix && !linux

package host

import (
	"os/exec"
	"syscall"
)

func setSession(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
