package main

import (
	"os"
	"os/signal"
)

func main() {
	os.Exit(execute(osEnvironment(), os.Args[1:]))
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
	}
	if t := newFileTerminal(os.Stdin, os.Stdout); t.IsTerminal() {
		e.Terminal = t
	}
	return e
}
