package main

import (
	"github.com/sbxdev/sbx/backends/darwin"
	"github.com/sbxdev/sbx/plugins/sdk"
)

func main() { sdk.Serve(darwin.Backends()...) }
