//go:build !windows

package main

import "os"

// enableVTOutput is a no-op outside Windows: Unix terminals interpret
// escape sequences already.
func enableVTOutput(*os.File) func() { return func() {} }
