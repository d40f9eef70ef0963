//go:build !linux

package main

import (
	"fmt"
	"os"
)

// The front end exists for Linux, where its agent and the plugin agents
// run. On other systems the full CLI (cmd/sbx) is installed as `sbx`.
func main() {
	fmt.Fprintln(os.Stderr, "sbx: this front end runs on Linux only; on this system install the full CLI (cmd/sbx) as sbx")
	os.Exit(125)
}
