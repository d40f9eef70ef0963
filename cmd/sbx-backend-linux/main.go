package main

import (
	"github.com/sbxdev/sbx/backends/linux"
	"github.com/sbxdev/sbx/plugins/sdk"
)

func main() {
	linux.Reexec() // returns unless this process is a re-executed helper role
	sdk.Serve(linux.Backends()...)
}
