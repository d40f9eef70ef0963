//go:build windows

package host

import (
	"os/exec"
	"syscall"
)

// setSession gives the plugin its own console process group, so a Ctrl-C
// in the user's console reaches sbx (which forwards it) and not the plugin.
func setSession(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}
