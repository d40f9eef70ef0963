//go:build unix

package main

import "syscall"

// ownUmask returns this process's file mode creation mask, for the command:
// a plugin agent serving it was started with whatever mask its first caller
// had. Reading the mask means setting it; main calls this before sbx
// creates any file or starts any goroutine that could.
func ownUmask() *uint32 {
	u := syscall.Umask(0)
	syscall.Umask(u)
	v := uint32(u)
	return &v
}
