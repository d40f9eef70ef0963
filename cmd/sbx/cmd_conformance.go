package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sbxdev/sbx/plugins/conformance"
	"github.com/sbxdev/sbx/plugins/probe"
)

func newConformanceCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "conformance [--backend=NAME] [--json]",
		Short: "Check that a backend holds what its report claims (the conformance suite)",
		Long: `Run the conformance suite against a backend: the probes of 'sbx compare'
under a few policies (the default one, restricted reads, network allowed),
plus contract checks (the report lists every element; a strict run is
refused when the report is below enforced).

A case fails when a probe gets through an element the backend reports
enforced, when the backend refuses what the policy allows (a write in the
workspace), or when a contract check fails. Cases the backend declares it
does not hold (capability or report element absent) are skipped with the
reason; a probe that gets through an advisory element is a pass marked
"leaked", which is what advisory means.

This is the suite a backend author runs from Go with conformance.Run (see
docs/writing-a-backend.md). Exit status: 0 when no case failed, 1
otherwise, 125 when the suite could not run.`,
		Example: `  sbx conformance --backend=linux-landlock
  SBX_PLUGIN_PATH=./bin sbx conformance --backend=bwrap --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.conformance(cmd, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print every case's result as JSON")
	return cmd
}

// conformance is `sbx conformance`.
func (a *app) conformance(cmd *cobra.Command, asJSON bool) error {
	cfg, err := a.loadFor(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	set, b, err := a.openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer set.Close()
	probePath, err := probe.FindProgram()
	if err != nil {
		return err
	}
	results, err := conformance.Evaluate(ctx, cfg.Backend, b, probePath)
	if err != nil {
		return err
	}
	out := a.env.Stdout
	failed, passed, skipped := 0, 0, 0
	for _, r := range results {
		switch r.Status {
		case conformance.Fail:
			failed++
		case conformance.Skip:
			skipped++
		default:
			passed++
		}
	}
	if asJSON {
		if err := writeJSON(out, results); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CASE\tSTATUS\tWHY")
		for _, r := range results {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Case.Name(), r.Status, r.Reason)
		}
		tw.Flush()
		fmt.Fprintf(out, "\n%s: %d passed, %d failed, %d skipped\n", cfg.Backend, passed, failed, skipped)
	}
	if failed > 0 {
		fmt.Fprintf(a.env.Stderr, "sbx: backend %s failed %d conformance case(s)\n", cfg.Backend, failed)
		return &exitStatus{Code: 1}
	}
	return nil
}
