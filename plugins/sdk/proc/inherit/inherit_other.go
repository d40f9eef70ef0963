//go:build !unix

package inherit

// OnlyStdio does nothing here: on Windows a process inherits only the
// handles its parent lists explicitly (Go starts processes that way).
func OnlyStdio() error { return nil }
