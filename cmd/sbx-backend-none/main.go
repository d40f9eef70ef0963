package main

import (
	"github.com/sbxdev/sbx/backends/none"
	"github.com/sbxdev/sbx/plugins/sdk"
)

func main() { sdk.Serve(none.New()) }
