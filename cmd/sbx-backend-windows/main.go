package main

import (
	"github.com/sbxdev/sbx/backends/windows"
	"github.com/sbxdev/sbx/plugins/sdk"
)

func main() { sdk.Serve(windows.Backends()...) }
