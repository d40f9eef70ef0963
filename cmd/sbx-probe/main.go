package main

import (
	"os"

	"github.com/sbxdev/sbx/plugins/probe"
)

func main() { os.Exit(probe.Main(os.Args[1:], os.Stdout)) }
