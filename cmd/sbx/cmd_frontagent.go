package main

import (
	"errors"
	"runtime"
	"time"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newFrontAgentCmd) }

// newFrontAgentCmd is `sbx front-agent`, hidden: the resident process the
// lean front end (cmd/sbx/front, installed as `sbx`) hands its commands to.
// `sbx run` starts it when the front end asks (see frontagent_linux.go); it
// is not meant to be run by hand.
func newFrontAgentCmd(a *app) *cobra.Command {
	var socket string
	var idle time.Duration
	cmd := &cobra.Command{
		Use:    "front-agent --socket PATH",
		Short:  "Serve sbx front ends on a private socket (started by sbx itself)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if socket == "" {
				return usageErrorf(cmd, "--socket is required")
			}
			if idle <= 0 {
				return usageErrorf(cmd, "--idle=%s: want a positive duration", idle)
			}
			// It waits on sockets and processes; one processor keeps
			// idle threads from spinning on the cores the commands need
			// (as plugin agents do, see the SDK).
			if _, set := a.env.LookupEnv("GOMAXPROCS"); !set {
				runtime.GOMAXPROCS(1)
			}
			return serveFrontAgent(socket, idle, a.env.Stderr)
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "listen on the Unix socket `PATH` (in a private directory)")
	cmd.Flags().DurationVar(&idle, "idle", 5*time.Minute, "exit after this long without commands")
	return cmd
}

// errFallback: the front-end agent declines the request after all; execute
// returns codeFallback for it, without a message.
var errFallback = errors.New("declined by the front-end agent")

// codeFallback is execute's result for errFallback (not an exit status).
const codeFallback = -1
