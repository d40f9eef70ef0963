package main

import (
	"os"
	"strings"
)

// exportEnv makes the SBX_* variables of the process those of h.vars, for
// the duration of the test: the environment layer reads them through
// viper, which looks at the process environment, not at
// environment.LookupEnv. SBX_* variables of the real environment (a
// developer's SBX_BACKEND) are hidden, so they cannot change the outcome.
// t.Setenv restores everything when the test ends (and refuses parallel
// tests, which could not share one process environment).
func (h *harness) exportEnv() {
	h.t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "SBX_") {
			h.t.Setenv(name, "") // registers the restore
			os.Unsetenv(name)
		}
	}
	for name, v := range h.vars {
		if strings.HasPrefix(name, "SBX_") {
			h.t.Setenv(name, v)
		}
	}
}
