package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/probe"
)

// compareOptions are the flags of `sbx compare` that are not policy.
type compareOptions struct {
	backends []string
	json     bool
	markdown bool
	explain  bool
}

func newCompareCmd(a *app) *cobra.Command {
	var o compareOptions
	cmd := &cobra.Command{
		Use:   "compare [--backends=A,B,...] [flags] [-- CMD ARGS...]",
		Short: "Run boundary probes under several backends and show what each one stops",
		Long: `Run the same probes under each backend, with the same policy, and print one
table: probes as rows, backends as columns. Each probe tries to cross one
boundary from inside the sandbox (write outside the workspace, into .git,
through links, from a detached grandchild; read outside the read set;
loopback TCP, UDP, HTTP and DNS; TIOCSTI, ptrace, signals on Linux) and
each cell says what happened, measured against the backend's own report:

  blocked            the policy denies it and the OS refused it
  allowed            the policy allows it and it went through
  leaked             it went through where the backend says it is advisory
  allowed (absent)   it went through where the backend says it does nothing
  FAILED             it went through where the backend says it is enforced

The probes run in a scratch workspace with the policy's shape (the policy
flags apply); every backend runs best-effort so that all of them run, and
the table shows how strongly each holds the policy. Startup is the time
to run a program that exits at once. A command after -- is also run, in
the real workspace, under each backend, and timed (its output is not
shown). Backends that cannot run here get a column saying why.

--explain runs nothing: it shows what each backend's plan claims would
happen, so backends of another OS can be compared anywhere:
  sbx compare --explain --backends=windows-unelevated,windows-elevated

compare exits 1 when a cell is FAILED.`,
		Example: `  sbx compare --backends=none,linux-landlock,linux-namespaces
  sbx compare --network=allow --markdown
  sbx compare --backends=linux-landlock,linux-namespaces -- go build ./...
  sbx compare --explain --backends=windows-unelevated,windows-elevated`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.compare(cmd, args, o)
		},
	}
	cmd.Flags().SetInterspersed(false)
	addPolicyFlags(cmd)
	cmd.Flags().StringSliceVar(&o.backends, "backends", nil, "compare the backends `A,B,...` (default: every backend found for this OS)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the comparison as JSON")
	cmd.Flags().BoolVar(&o.markdown, "markdown", false, "print the table as Markdown")
	cmd.Flags().BoolVar(&o.explain, "explain", false, "run nothing: predict each probe from the backends' plans (works for any OS's backends)")
	return cmd
}

// comparison is the result of `sbx compare`, as printed with --json.
type comparison struct {
	// Explain is true when the cells are predictions from plans.
	Explain bool `json:"explain"`
	// Policy is the policy the probes ran under (scratch workspace).
	Policy core.Policy `json:"policy"`
	// Command is the user's command, when one was given.
	Command []string `json:"command,omitempty"`
	// Columns are the backends, in the order asked.
	Columns []compareColumn `json:"columns"`
}

// compareColumn is one backend of a comparison.
type compareColumn struct {
	Backend     string `json:"backend"`
	Unavailable string `json:"unavailable,omitempty"`
	// StartupMS is the startup time in milliseconds (0 with --explain).
	StartupMS float64 `json:"startup_ms,omitempty"`
	// Command is how the user's command ended under the backend.
	Command *commandRun   `json:"command,omitempty"`
	Cells   []compareCell `json:"cells,omitempty"`
	// Note says how the plan was made (a foreign OS's paths).
	Note string `json:"note,omitempty"`
}

// commandRun is the user's command under one backend.
type commandRun struct {
	ExitCode   int     `json:"exit_code"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
}

// compareCell is one probe under one backend.
type compareCell struct {
	Probe     string        `json:"probe"`
	Verdict   probe.Verdict `json:"verdict"`
	Outcome   probe.Outcome `json:"outcome,omitempty"`
	Detail    string        `json:"detail,omitempty"`
	Deny      bool          `json:"policy_denies"`
	Strength  core.Strength `json:"strength"`
	Subject   string        `json:"element"`
	Mechanism string        `json:"mechanism,omitempty"`
	Note      string        `json:"note,omitempty"`
}

// compare is `sbx compare`.
func (a *app) compare(cmd *cobra.Command, argv []string, o compareOptions) error {
	if o.json && o.markdown {
		return usageErrorf(cmd, "--json and --markdown cannot be used together")
	}
	cfg, err := a.resolvePolicy(cmd)
	if err != nil {
		return err
	}
	set, err := a.openBackends(cfg)
	if err != nil {
		return err
	}
	defer set.Close()
	ctx := cmd.Context()
	names := cleanNames(o.backends)
	if len(names) == 0 {
		names = defaultCompareBackends(ctx, set, o.explain)
	}
	if len(names) == 0 {
		return errors.New("no backends to compare: name them with --backends (see `sbx backends`)")
	}

	var cmp *comparison
	if o.explain {
		cmp = a.compareExplain(ctx, set, names, cfg.Policy)
	} else {
		cmp, err = a.compareRun(ctx, set, names, cfg.Policy, argv)
		if err != nil {
			return err
		}
	}
	out := a.env.Stdout
	switch {
	case o.json:
		if err := writeJSON(out, cmp); err != nil {
			return err
		}
	case o.markdown:
		printComparisonMarkdown(out, cmp)
	default:
		printComparison(out, cmp)
	}
	if n := cmp.failedCells(); n > 0 {
		fmt.Fprintf(a.env.Stderr, "sbx: %d probe(s) got through where the backend claims to enforce the policy (FAILED)\n", n)
		return &exitStatus{Code: 1}
	}
	return nil
}

// compareRun runs the probes (and the user's command) under each backend.
func (a *app) compareRun(ctx context.Context, set backendSet, names []string, p core.Policy, argv []string) (*comparison, error) {
	probePath, err := probe.FindProgram()
	if err != nil {
		return nil, err
	}
	env, err := probe.Prepare(p, probePath)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	cmp := &comparison{Policy: env.Policy, Command: argv}
	for _, name := range names {
		col := compareColumn{Backend: name}
		b, why := openAvailable(ctx, set, name)
		if b == nil {
			col.Unavailable = why
			cmp.Columns = append(cmp.Columns, col)
			continue
		}
		pc, err := env.Run(ctx, name, b)
		if err != nil {
			col.Unavailable = "the probes could not run: " + firstLine(err.Error())
		} else {
			col.StartupMS = ms(pc.Startup)
			col.Cells = cellsOf(pc)
		}
		if len(argv) > 0 {
			col.Command = runTimed(ctx, name, b, p, argv, a.env.Environ())
		}
		cmp.Columns = append(cmp.Columns, col)
	}
	return cmp, nil
}

// compareExplain predicts each probe from each backend's plan.
func (a *app) compareExplain(ctx context.Context, set backendSet, names []string, p core.Policy) *comparison {
	cmp := &comparison{Explain: true, Policy: p}
	for _, name := range names {
		col := compareColumn{Backend: name}
		b, err := set.Open(ctx, name)
		if err != nil {
			col.Unavailable = firstLine(err.Error())
			cmp.Columns = append(cmp.Columns, col)
			continue
		}
		op, err := planForOS(ctx, b, p)
		col.Note = op.note
		if err != nil {
			col.Unavailable = "cannot plan: " + firstLine(err.Error())
			cmp.Columns = append(cmp.Columns, col)
			continue
		}
		col.Cells = cellsOf(probe.PredictColumn(name, op.plan, op.policy, op.goos))
		cmp.Columns = append(cmp.Columns, col)
	}
	return cmp
}

// osPlan is a backend's plan for a policy, made for the backend's OS.
type osPlan struct {
	plan *core.Plan
	// policy is the policy planned: the caller's, or with its paths
	// rewritten for goos.
	policy core.Policy
	// goos is the OS the backend runs on (this one for "any").
	goos string
	// note says how the paths were rewritten, "" when they were not.
	note string
}

// planForOS asks b for its plan of p. A backend of another OS
// (windows-elevated on Linux) is planned with p's paths rewritten the way
// that OS writes them (policyForOS), and the note says so; explain and
// compare --explain show such plans anywhere. On error the result holds
// the policy and note of the last attempt.
func planForOS(ctx context.Context, b core.Backend, p core.Policy) (osPlan, error) {
	goos := runtime.GOOS
	if info, err := b.Info(ctx); err == nil && info.OS != "" && info.OS != "any" {
		goos = info.OS
	}
	pol, note := policyForOS(p, goos, false)
	plan, err := b.Plan(ctx, pol)
	if err != nil && errors.Is(err, core.ErrInvalidPolicy) && note != "" {
		// The plugin checked the paths as paths of this host's OS
		// too: use a form both accept (a UNC-style //host/share).
		pol, note = policyForOS(p, goos, true)
		plan, err = b.Plan(ctx, pol)
	}
	return osPlan{plan: plan, policy: pol, goos: goos, note: note}, err
}

// openAvailable opens a backend that can run here, or says why not.
func openAvailable(ctx context.Context, set backendSet, name string) (core.Backend, string) {
	b, err := set.Open(ctx, name)
	if err != nil {
		return nil, firstLine(err.Error())
	}
	info, err := b.Info(ctx)
	if err != nil {
		return nil, firstLine(err.Error())
	}
	if !info.Available {
		return nil, info.Unavailable
	}
	return b, ""
}

// runTimed runs the user's command under b (the backend name), best-effort,
// output discarded. A run error gets the exit status `sbx run` would give
// it (runError): 127 for a command not found, 126 for one that cannot be
// executed, as the backend classes them.
func runTimed(ctx context.Context, name string, b core.Backend, p core.Policy, argv, environ []string) *commandRun {
	begin := time.Now()
	res, err := b.Run(ctx, &core.RunRequest{
		Policy: p,
		Accept: core.Acceptance{BestEffort: true},
		Argv:   argv,
		Dir:    p.Workspace,
		Env:    environ,
	})
	run := &commandRun{DurationMS: ms(time.Since(begin))}
	if err != nil {
		run.ExitCode, run.Error = exitCode(runError(name, err)), firstLine(err.Error())
		return run
	}
	run.ExitCode = res.ExitCode
	return run
}

// defaultCompareBackends is every backend found for this OS (for
// --explain: every backend found).
func defaultCompareBackends(ctx context.Context, set backendSet, explain bool) []string {
	var out []string
	for _, l := range set.List(ctx) {
		if l.Err != nil {
			continue
		}
		if explain || l.Info.OS == "any" || l.Info.OS == runtime.GOOS {
			out = append(out, l.Name)
		}
	}
	return out
}

// policyForOS rewrites p's paths for a backend of another OS, so that its
// plan can be shown anywhere: /home/me/ws becomes C:\home\me\ws for a
// Windows backend planned elsewhere (with unc, //sbx/home/me/ws, which is
// absolute on both sides), and C:\work becomes /work the other way. The
// note says so; it is empty when nothing was rewritten.
func policyForOS(p core.Policy, goos string, unc bool) (core.Policy, string) {
	toWin := goos == "windows" && runtime.GOOS != "windows"
	toUnix := goos != "windows" && runtime.GOOS == "windows"
	if !toWin && !toUnix {
		return p, ""
	}
	conv := func(s string) string {
		s = filepath.ToSlash(s)
		switch {
		case toWin && unc:
			return "//sbx" + s
		case toWin:
			return `C:` + strings.ReplaceAll(s, "/", `\`)
		}
		if len(s) > 1 && s[1] == ':' {
			s = s[2:]
		}
		return s
	}
	q := p.Clone()
	q.Workspace = conv(q.Workspace)
	for i := range q.WritableRoots {
		q.WritableRoots[i] = conv(q.WritableRoots[i])
	}
	for i := range q.Read.Paths {
		q.Read.Paths[i] = conv(q.Read.Paths[i])
	}
	return q, fmt.Sprintf("planned for %s with the workspace as %s", goos, q.Workspace)
}

// cellsOf turns a probe column into cells.
func cellsOf(c *probe.Column) []compareCell {
	var out []compareCell
	for _, r := range c.Rows {
		out = append(out, compareCell{
			Probe: r.Name, Verdict: r.Verdict, Outcome: r.Result.Outcome, Detail: r.Result.Detail,
			Deny: r.Expect.Deny, Strength: r.Expect.Strength, Subject: r.Expect.Element.Subject,
			Mechanism: r.Expect.Element.Mechanism, Note: r.Expect.Element.Note,
		})
	}
	return out
}

// failedCells counts the FAILED cells.
func (c *comparison) failedCells() int {
	n := 0
	for _, col := range c.Columns {
		for _, cell := range col.Cells {
			if cell.Verdict == probe.Failed {
				n++
			}
		}
	}
	return n
}

// rows returns the probe names of the table, in the order of
// probe.Probes, that appear in any column.
func (c *comparison) rows() []string {
	have := map[string]bool{}
	for _, col := range c.Columns {
		for _, cell := range col.Cells {
			have[cell.Probe] = true
		}
	}
	var out []string
	for _, pr := range probe.Probes {
		if have[pr.Name] {
			out = append(out, pr.Name)
		}
	}
	return out
}

// cell returns the verdict shown for probe in col.
func (col *compareColumn) cell(name string) string {
	if col.Unavailable != "" {
		return "-"
	}
	for _, c := range col.Cells {
		if c.Probe == name {
			return string(c.Verdict)
		}
	}
	return "-"
}

// table returns the header and the rows of the comparison as text cells,
// with the startup and command rows last.
func (c *comparison) table() ([]string, [][]string) {
	head := []string{"PROBE"}
	for _, col := range c.Columns {
		h := col.Backend
		if col.Unavailable != "" {
			h += " (unavailable)"
		}
		head = append(head, h)
	}
	var rows [][]string
	for _, name := range c.rows() {
		row := []string{name}
		for i := range c.Columns {
			row = append(row, c.Columns[i].cell(name))
		}
		rows = append(rows, row)
	}
	if !c.Explain {
		row := []string{"startup"}
		for _, col := range c.Columns {
			row = append(row, durationCell(col.StartupMS, col.Unavailable == "" && col.Cells != nil))
		}
		rows = append(rows, row)
	}
	if len(c.Command) > 0 {
		row := []string{"command"}
		for _, col := range c.Columns {
			switch {
			case col.Command == nil:
				row = append(row, "-")
			default:
				row = append(row, fmt.Sprintf("exit %d, %s", col.Command.ExitCode, durationCell(col.Command.DurationMS, true)))
			}
		}
		rows = append(rows, row)
	}
	return head, rows
}

func durationCell(msec float64, ok bool) string {
	if !ok {
		return "-"
	}
	return time.Duration(msec * float64(time.Millisecond)).Round(time.Millisecond).String()
}

// printComparison prints the comparison as an aligned table, then the
// details worth reading: why a backend is unavailable, and every cell that
// is not a plain "blocked" or "allowed".
func printComparison(w io.Writer, c *comparison) {
	fmt.Fprintln(w, c.title())
	fmt.Fprintln(w)
	head, rows := c.table()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	if notes := c.notes(); len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	}
}

// printComparisonMarkdown prints the comparison as a Markdown table with
// the notes as a list.
func printComparisonMarkdown(w io.Writer, c *comparison) {
	fmt.Fprintf(w, "%s\n\n", c.title())
	head, rows := c.table()
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b bytes.Buffer
	b.WriteString("| " + esc(strings.ToLower(head[0])))
	for _, h := range head[1:] {
		b.WriteString(" | " + esc(h))
	}
	b.WriteString(" |\n|" + strings.Repeat("---|", len(head)) + "\n")
	for _, r := range rows {
		b.WriteString("| `" + r[0] + "`")
		for _, cell := range r[1:] {
			if cell == string(probe.Failed) || cell == string(probe.Leaked) || cell == string(probe.WouldLeak) {
				cell = "**" + cell + "**"
			}
			b.WriteString(" | " + esc(cell))
		}
		b.WriteString(" |\n")
	}
	w.Write(b.Bytes())
	if notes := c.notes(); len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, "- "+esc(n))
		}
	}
}

// title says what the table is.
func (c *comparison) title() string {
	p := c.Policy
	reads := "reads unrestricted"
	if p.Read.Mode == core.ReadRestricted {
		reads = "reads restricted"
	}
	what := "Probes run inside each backend"
	if c.Explain {
		what = "Predicted from each backend's plan (nothing was run)"
	}
	protected := strings.Join(p.Protected, " ")
	if protected == "" {
		protected = "nothing"
	}
	writes := "workspace writable"
	if p.ReadOnly {
		writes = "read-only"
	}
	tmp := "temporary directories writable"
	if !p.WritableTmp {
		tmp = "temporary directories not writable"
	}
	return fmt.Sprintf("%s; policy: %s, network %s, %s, protected %s, %s.",
		what, writes, p.Network.Mode, reads, protected, tmp)
}

// notes lists, per backend, why it is unavailable and the cells worth
// explaining (FAILED, leaked, errors, over-blocked), with the probe's
// detail and the report's note.
func (c *comparison) notes() []string {
	var out []string
	for _, col := range c.Columns {
		if col.Unavailable != "" {
			out = append(out, fmt.Sprintf("%s: unavailable: %s", col.Backend, col.Unavailable))
			continue
		}
		if col.Note != "" {
			out = append(out, fmt.Sprintf("%s: %s", col.Backend, col.Note))
		}
		// Cells with the same verdict and the same reason share a line
		// ("tcp-127.0.0.1, udp-127.0.0.1 would leak [...]") unless the
		// probes saw different things.
		type group struct {
			verdict probe.Verdict
			why     string
			probes  []string
			details []string
		}
		var groups []*group
		index := map[string]*group{}
		for _, cell := range col.Cells {
			switch cell.Verdict {
			case probe.Failed, probe.Leaked, probe.Errored, probe.Overblocked, probe.WouldLeak:
			default:
				continue
			}
			why := fmt.Sprintf("%s is %s", cell.Subject, cell.Strength)
			if cell.Mechanism != "" {
				why += " (" + cell.Mechanism + ")"
			}
			if cell.Note != "" {
				why += ": " + cell.Note
			}
			key := string(cell.Verdict) + "\x00" + why
			if cell.Detail != "" {
				key += "\x00" + cell.Probe // a probe's own detail: a line of its own
			}
			g := index[key]
			if g == nil {
				g = &group{verdict: cell.Verdict, why: why}
				index[key] = g
				groups = append(groups, g)
			}
			g.probes = append(g.probes, cell.Probe)
			if cell.Detail != "" {
				g.details = append(g.details, cell.Detail)
			}
		}
		for _, g := range groups {
			line := fmt.Sprintf("%s: %s %s", col.Backend, strings.Join(g.probes, ", "), g.verdict)
			if len(g.details) > 0 {
				line += ": " + strings.Join(g.details, "; ")
			}
			out = append(out, line+" ["+g.why+"]")
		}
		if col.Command != nil && col.Command.Error != "" {
			out = append(out, fmt.Sprintf("%s: command: %s", col.Backend, col.Command.Error))
		}
	}
	return out
}

// cleanNames splits and trims backend names, dropping empty ones.
func cleanNames(in []string) []string {
	var out []string
	for _, s := range in {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
