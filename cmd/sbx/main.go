package main

import (
	"fmt"
	"os"
	"os/signal"

	"github.com/sbxdev/sbx/cmd/sbx/internal/front"
	"github.com/sbxdev/sbx/plugins/sdk/proc/inherit"
)

func main() {
	// Plugins and resident agents started from here serve later callers
	// too: they must not keep this caller's other descriptors (package
	// inherit).
	if err := inherit.OnlyStdio(); err != nil {
		fmt.Fprintln(os.Stderr, "sbx: cannot keep inherited descriptors from plugins and commands:", err)
		os.Exit(125)
	}
	env := osEnvironment()
	env.Umask = ownUmask()
	// The front end's request for an agent is for sbx alone: neither the
	// command nor plugins see it.
	env.FrontSocket = os.Getenv(front.EnvSocket)
	os.Unsetenv(front.EnvSocket)
	os.Exit(execute(env, os.Args[1:]))
}

// osEnvironment is the environment of the real process.
func osEnvironment() *environment {
	e := &environment{
		Stdin:          os.Stdin,
		Stdout:         os.Stdout,
		Stderr:         os.Stderr,
		LookupEnv:      os.LookupEnv,
		Environ:        os.Environ,
		Getwd:          os.Getwd,
		Backends:       hostBackends,
		DefaultBackend: hostDefaultBackend(),
		Notify:         signal.Notify,
		StopNotify:     signal.Stop,

		StartFrontAgent: startFrontAgent,
	}
	if t := newFileTerminal(os.Stdin, os.Stdout); t.IsTerminal() {
		e.Terminal = t
	}
	return e
}
