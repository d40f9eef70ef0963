package main

import (
	"os"
	"testing"
)

// BenchmarkExecute_Run is what `sbx run` costs in the CLI itself, before and
// after the backend (a fake here): the command tree, the configuration
// layers (files, environment, flags), the policy, opening the backend. The
// front-end agent pays it for every command.
func BenchmarkExecute_Run(b *testing.B) {
	h := newHarness(b)
	writeFile(b, h.userFile(), "network = \"deny\"\n")
	for b.Loop() {
		h.stdout.Reset()
		h.stderr.Reset()
		env := h.environment()
		env.Notify = func(chan<- os.Signal, ...os.Signal) {}
		if code := execute(env, []string{"run", "--", "true"}); code != 0 {
			b.Fatalf("exit %d: %s", code, h.stderr.String())
		}
	}
}
