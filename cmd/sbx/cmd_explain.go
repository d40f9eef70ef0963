package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sbxdev/sbx/core"
)

func newExplainCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain [flags] [-- CMD ARGS...]",
		Short: "Show what a backend would do for the effective policy, without running anything",
		Long: `Show the plan of the backend for the effective policy: every element of the
policy with the strength the backend holds it at (enforced, advisory, absent)
and how, then the exact steps (rules, mounts, environment changes), and
whether 'sbx run' would go ahead or refuse.

explain takes the same flags as run, so a run command line can be turned
into an explain one by changing the verb; a command after -- is ignored.
--json prints the plan (core.Plan) as JSON. explain exits 0 even when a
run would be refused.`,
		Example: `  sbx explain
  sbx explain --backend=none --network=allow
  sbx explain --json | jq .report`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.explain(cmd, asJSON)
		},
	}
	cmd.Flags().SetInterspersed(false)
	addPolicyFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	return cmd
}

// explain is `sbx explain`.
func (a *app) explain(cmd *cobra.Command, asJSON bool) error {
	cfg, err := a.resolvePolicy(cmd)
	if err != nil {
		return err
	}
	set, b, err := a.openBackend(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	defer set.Close()
	// A backend for another OS (windows-elevated on Linux) is planned with
	// this host's paths rewritten the way that OS writes them, as compare
	// --explain does, and says so.
	op, err := planForOS(cmd.Context(), b, cfg.Policy)
	if err != nil {
		return err
	}
	plan, policy, note := op.plan, op.policy, op.note
	out := a.env.Stdout
	if asJSON {
		return writeJSON(out, plan)
	}
	fmt.Fprintf(out, "Backend %s, workspace %s\n", plan.Backend, policy.Workspace)
	if note != "" {
		fmt.Fprintf(out, "(%s: this host's paths, rewritten for that OS)\n", note)
	}
	fmt.Fprintln(out)
	printReport(out, plan.Report)
	if len(plan.Steps) > 0 {
		fmt.Fprintf(out, "\nSteps:\n")
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for i, s := range plan.Steps {
			// Only the number and layer are aligned: actions vary too
			// much in length for a column.
			what := strings.TrimSpace(s.Action + " " + s.Target)
			if s.Value != "" {
				what += " [" + s.Value + "]"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\n", i+1, s.Layer, what)
		}
		tw.Flush()
	}
	fmt.Fprintf(out, "\n%s\n", verdict(plan.Report, cfg.Accept))
	return nil
}

// printReport prints a report as a table, one element per line. The last
// column, HOW, is the mechanism followed by the note that explains a
// weaker strength; it is last because it can be long.
func printReport(w io.Writer, r core.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BOUNDARY\tSUBJECT\tREQUESTED\tSTRENGTH\tHOW")
	for _, e := range r.Elements {
		how := e.Mechanism
		if e.Note != "" {
			if how != "" {
				how += ": "
			}
			how += e.Note
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Boundary, e.Subject, e.Requested, e.Strength, dash(how))
	}
	tw.Flush()
}

// verdict says what `sbx run` would do with report r and acceptance acc.
func verdict(r core.Report, acc core.Acceptance) string {
	if err := r.Check(acc); err != nil {
		return "sbx run would refuse: " + err.Error()
	}
	down := r.Downgrades()
	if len(down) == 0 {
		return "sbx run would run: every element is enforced."
	}
	lines := make([]string, len(down))
	for i, e := range down {
		lines[i] = "  - " + e.Summary()
	}
	return fmt.Sprintf("sbx run would run with %d accepted downgrade(s), printed on stderr:\n%s", len(down), strings.Join(lines, "\n"))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
