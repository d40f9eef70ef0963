package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sbxdev/sbx/core"
)

// backendJSON is one backend in `sbx backends --json`.
type backendJSON struct {
	Name    string     `json:"name"`
	Plugin  string     `json:"plugin"`
	Default bool       `json:"default,omitempty"`
	Info    *core.Info `json:"info,omitempty"`
	Error   string     `json:"error,omitempty"`
}

func newBackendsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backends",
		Short: "List the backends, whether they can run here, and what they enforce",
		Long: `List every backend the installed plugins serve: whether it can run on this
host (and if not, why and what to do), whether it needs a one-time setup
('sbx setup'), and how strongly it holds each boundary at best: writes,
protected names, reads, network, limits and the process tree. The plan for
a given policy may be weaker: see 'sbx explain'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.backends(cmd, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	return cmd
}

// backends is `sbx backends`.
func (a *app) backends(cmd *cobra.Command, asJSON bool) error {
	cfg, err := a.loadFor(cmd)
	if err != nil {
		return err
	}
	set, err := a.openBackends(cfg)
	if err != nil {
		return err
	}
	defer set.Close()
	list := set.List(cmd.Context())
	sort.SliceStable(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	out := a.env.Stdout
	if asJSON {
		rows := make([]backendJSON, 0, len(list))
		for _, l := range list {
			r := backendJSON{Name: l.Name, Plugin: l.Plugin, Default: l.Name == cfg.Backend}
			if l.Err != nil {
				r.Error = l.Err.Error()
			} else {
				info := l.Info
				r.Info = &info
			}
			rows = append(rows, r)
		}
		return writeJSON(out, rows)
	}
	if len(list) == 0 {
		fmt.Fprintln(out, "No backends found. Plugins (sbx-backend-NAME) are looked for next to the sbx executable, in $SBX_PLUGIN_PATH and in plugin_dirs.")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKEND\tAVAILABLE\tSETUP\tWRITE\tPROTECTED\tREAD\tNETWORK\tLIMITS\tPROCESS\tTTY")
	for _, l := range list {
		name := l.Name
		if name == cfg.Backend {
			name += " (default)"
		}
		if l.Err != nil {
			fmt.Fprintf(tw, "%s\terror\t-\t-\t-\t-\t-\t-\t-\t-\n", name)
			continue
		}
		i := l.Info
		c := i.Capabilities
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, yesNo(i.Available),
			setupWord(i.NeedsSetup), c.Write, c.Protected, c.Read, c.Network, c.Limits, c.ProcessTree, yesNo(c.TTY))
	}
	tw.Flush()
	fmt.Fprintln(out)
	for _, l := range list {
		fmt.Fprintf(out, "%s", l.Name)
		if l.Err != nil {
			fmt.Fprintf(out, ": plugin error: %v\n  plugin: %s\n", l.Err, l.Plugin)
			continue
		}
		i := l.Info
		if i.Description != "" {
			fmt.Fprintf(out, ": %s", i.Description)
		}
		fmt.Fprintln(out)
		if !i.Available {
			fmt.Fprintf(out, "  not available here: %s\n", dash(i.Unavailable))
		}
		if i.NeedsSetup {
			fmt.Fprintf(out, "  needs a one-time setup: sbx setup --backend=%s\n", l.Name)
		}
		if len(i.Facts) > 0 {
			facts := make([]string, 0, len(i.Facts))
			for _, k := range sortedKeys(i.Facts) {
				facts = append(facts, k+"="+i.Facts[k])
			}
			fmt.Fprintf(out, "  facts: %s\n", strings.Join(facts, ", "))
		}
		fmt.Fprintf(out, "  plugin: %s\n", l.Plugin)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func setupWord(needs bool) string {
	if needs {
		return "needed"
	}
	return "-"
}
