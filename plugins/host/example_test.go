package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/host"
)

// A harness runs an agent's command in the workspace, strictly: if the
// backend cannot enforce the policy on this host, nothing runs.
func ExampleHost_Run() {
	h := host.New(host.Options{})
	defer h.Close()

	policy := core.DefaultPolicy("/home/me/project")
	policy.Limits.Timeout = 0 // no limit; set one for untrusted commands
	if err := policy.Validate(nil, nil); err != nil {
		fmt.Println(err)
		return
	}
	res, err := h.Run(context.Background(), host.DefaultBackend(), &core.RunRequest{
		Policy:      policy,
		Argv:        []string{"git", "status"},
		Env:         os.Environ(),
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		Diagnostics: os.Stderr,
	})
	var refused *core.NotEnforcedError
	switch {
	case errors.As(err, &refused):
		for _, e := range refused.Elements {
			fmt.Println("not enforced here:", e.Summary())
		}
	case err != nil:
		fmt.Println("sbx:", err)
	default:
		fmt.Println("exit status", res.ExitCode)
	}
}
