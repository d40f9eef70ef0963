//go:build !linux

package host

import (
	"os/exec"
)

// setPluginProcAttr starts a plugin in its own session where the OS allows
// it (see proc_linux.go for why).
func setPluginProcAttr(cmd *exec.Cmd) { setSession(cmd) }

// becomeSubreaper is Linux-only; elsewhere a crashed plugin's leftovers are
// the OS's (macOS) or the Job object's (Windows) to clean.
func becomeSubreaper() {}

// killOrphans is Linux-only (see becomeSubreaper).
func killOrphans() {}
