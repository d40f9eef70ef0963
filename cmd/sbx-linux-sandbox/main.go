package main

import (
	"fmt"
	"os"

	"github.com/sbxdev/sbx/backends/linux/sandbox"
)

func main() {
	sandbox.Reexec() // exits when argv[0] names a role
	fmt.Fprintf(os.Stderr, "sbx-linux-sandbox: internal helper of sbx-backend-linux, started by it with a role as argv[0] (%s, %s or %s); there is nothing to run by hand\n",
		sandbox.RoleExec, sandbox.RoleInit, sandbox.RoleProbe)
	os.Exit(2)
}
