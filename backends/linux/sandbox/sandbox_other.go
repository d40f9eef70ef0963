//go:build !linux

package sandbox

// Reexec does nothing outside Linux: there are no helper roles.
func Reexec() {}
