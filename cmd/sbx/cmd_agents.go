package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sbxdev/sbx/plugins/host"
)

// agentRow is one agent `sbx agents` shows.
type agentRow struct {
	// Kind is "front-end" (sbx-cli front-agent) or "plugin".
	Kind string `json:"kind"`
	host.AgentInfo
}

// newAgentsCmd is `sbx agents`: the resident processes sbx keeps between
// commands (plugin_keepalive), and a way to stop them.
func newAgentsCmd(a *app) *cobra.Command {
	var stop, asJSON bool
	cmd := &cobra.Command{
		Use:   "agents",
		Short: "List (or stop) the agents sbx keeps running between commands",
		Long: `sbx agents lists the processes sbx keeps running between commands on Linux
(see plugin_keepalive in docs/configuration.md): the front-end agent that
serves 'sbx run', and the backend plugins. They run as you, outside any
sandbox, answer only unsandboxed processes of yours, and exit by themselves
after plugin_keepalive without commands.

--stop asks each to stop now (SIGTERM): runs they are serving are cancelled
and their process trees killed. The next command starts them again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			getenv := func(k string) string { v, _ := a.env.LookupEnv(k); return v }
			rows, err := localAgents(getenv)
			if err != nil {
				return fmt.Errorf("cannot read the agent directory: %w", err)
			}
			if stop {
				for _, r := range rows {
					if !r.Running {
						continue
					}
					if err := host.StopAgent(r.AgentInfo); err != nil {
						return fmt.Errorf("stopping the %s agent %d (%s): %w", r.Kind, r.Pid, r.Binary, err)
					}
					fmt.Fprintf(a.env.Stdout, "stopped the %s agent %d (%s)\n", r.Kind, r.Pid, r.Binary)
				}
				return nil
			}
			if asJSON {
				if rows == nil {
					rows = []agentRow{}
				}
				return writeJSON(a.env.Stdout, rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.env.Stdout, "no agents")
				return nil
			}
			w := tabwriter.NewWriter(a.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KIND\tPID\tSTATE\tBINARY")
			for _, r := range rows {
				state := "running"
				if !r.Running {
					state = "gone (stale record)"
				}
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", r.Kind, r.Pid, state, r.Binary)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&stop, "stop", false, "stop every running agent (SIGTERM)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the agents as a JSON array")
	cmd.MarkFlagsMutuallyExclusive("stop", "json")
	return cmd
}
