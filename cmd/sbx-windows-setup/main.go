package main

import (
	"os"

	"github.com/sbxdev/sbx/backends/windows"
)

func main() { os.Exit(windows.SetupMain(os.Args[1:])) }
