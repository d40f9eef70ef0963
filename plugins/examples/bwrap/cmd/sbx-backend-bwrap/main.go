package main

import (
	"github.com/sbxdev/sbx/plugins/examples/bwrap"
	"github.com/sbxdev/sbx/plugins/sdk"
)

func main() { sdk.Serve(bwrap.New()) }
