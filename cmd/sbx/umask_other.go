//go:build !unix

package main

// ownUmask is nil where there is no umask (Windows).
func ownUmask() *uint32 { return nil }
