package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sbxdev/sbx/core"
)

// setupOptions are the flags of `sbx setup`.
type setupOptions struct {
	status bool
	undo   bool
	json   bool
}

func newSetupCmd(a *app) *cobra.Command {
	var o setupOptions
	cmd := &cobra.Command{
		Use:   "setup [--backend=NAME] [--status | --undo]",
		Short: "Perform, check or remove a backend's one-time setup",
		Long: `Some backends need a one-time setup before they can run (users, firewall
rules, ACLs; 'sbx backends' says which). 'sbx setup' performs it for the
selected backend and prints progress lines; it may need administrator
rights. --status shows what is in place, --undo (alias --uninstall) removes
it. For a backend without setup, setup says so and exits 0.`,
		Example: `  sbx setup --backend=windows-elevated
  sbx setup --backend=windows-elevated --status
  sbx setup --backend=windows-elevated --undo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.status && o.undo {
				return usageErrorf(cmd, "--status and --undo cannot be used together")
			}
			return a.setup(cmd, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.status, "status", false, "show what part of the setup is in place")
	f.BoolVar(&o.undo, "undo", false, "remove everything the setup put in place")
	f.BoolVar(&o.undo, "uninstall", false, "same as --undo")
	f.BoolVar(&o.json, "json", false, "with --status, print the status as JSON")
	return cmd
}

// setup is `sbx setup`.
func (a *app) setup(cmd *cobra.Command, o setupOptions) error {
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
	out := a.env.Stdout
	s, ok := b.(core.Setuper)
	noSetup := func() error {
		if o.json {
			return writeJSON(out, core.SetupStatus{Done: true})
		}
		fmt.Fprintf(out, "backend %s needs no setup\n", cfg.Backend)
		return nil
	}
	if !ok {
		return noSetup()
	}
	if o.status {
		st, err := s.SetupStatus(ctx)
		if errors.Is(err, core.ErrUnsupported) {
			return noSetup()
		}
		if err != nil {
			return err
		}
		if o.json {
			return writeJSON(out, st)
		}
		state := "not done"
		if st.Done {
			state = "done"
		}
		fmt.Fprintf(out, "setup of backend %s: %s (version %d installed, %d wanted)\n", cfg.Backend, state, st.Version, st.Want)
		for _, it := range st.Items {
			mark := "missing"
			if it.Present {
				mark = "present"
			}
			fmt.Fprintf(out, "  %-8s %s", mark, it.Name)
			if it.Detail != "" {
				fmt.Fprintf(out, ": %s", it.Detail)
			}
			fmt.Fprintln(out)
		}
		return nil
	}
	err = s.Setup(ctx, core.SetupRequest{Undo: o.undo}, out)
	if errors.Is(err, core.ErrUnsupported) {
		return noSetup()
	}
	if err != nil {
		return fmt.Errorf("setup of backend %s failed: %w", cfg.Backend, err)
	}
	if o.undo {
		fmt.Fprintf(out, "setup of backend %s removed\n", cfg.Backend)
	} else {
		fmt.Fprintf(out, "setup of backend %s done\n", cfg.Backend)
	}
	return nil
}
