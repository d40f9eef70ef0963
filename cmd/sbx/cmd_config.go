package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sbxdev/sbx/core"
)

// configJSON is `sbx config --json`.
type configJSON struct {
	Backend         string            `json:"backend"`
	Profile         string            `json:"profile,omitempty"`
	UserFile        fileInfo          `json:"user_file"`
	ProjectFile     fileInfo          `json:"project_file"`
	Policy          core.Policy       `json:"policy"`
	Acceptance      core.Acceptance   `json:"acceptance"`
	PluginDirs      []string          `json:"plugin_dirs,omitempty"`
	PluginChecksums map[string]string `json:"plugin_checksums,omitempty"`
	// PluginKeepAlive is plugin_keepalive as a Go duration ("5m0s",
	// "0s" when agents are off).
	PluginKeepAlive string    `json:"plugin_keepalive"`
	Settings        []setting `json:"settings"`
	Problems        []string  `json:"problems,omitempty"`
}

func newConfigCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "config [flags]",
		Short: "Show the effective policy and where each value came from",
		Long: `Show the effective configuration (the policy 'sbx run' would use with the
same flags) and, for every value, where it came from: default, the user
file, the project file, a profile, an SBX_* variable or a flag.

config takes the same flags as run. If the policy is invalid (a writable
root that does not exist, ...), the problems are listed after the table and
config exits 125.`,
		Example: `  sbx config
  sbx config --profile offline
  sbx config --json | jq .policy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.showConfig(cmd, asJSON)
		},
	}
	addPolicyFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the configuration as JSON")
	return cmd
}

// showConfig is `sbx config`.
func (a *app) showConfig(cmd *cobra.Command, asJSON bool) error {
	cfg, err := a.loadFor(cmd)
	if err != nil {
		// The table of a partly invalid configuration would mislead:
		// report every problem instead.
		if cfg != nil {
			err = &configError{Problems: append(problemsOf(err), cfg.policyProblems()...)}
		}
		return err
	}
	problems := cfg.policyProblems()
	out := a.env.Stdout
	if asJSON {
		if err := writeJSON(out, configJSON{
			Backend: cfg.Backend, Profile: cfg.Profile, UserFile: cfg.UserFile, ProjectFile: cfg.ProjectFile,
			Policy: cfg.Policy, Acceptance: cfg.Accept, PluginDirs: cfg.PluginDirs,
			PluginChecksums: cfg.PluginPins, PluginKeepAlive: cfg.PluginKeepAlive.String(),
			Settings: cfg.settingsTable(), Problems: problems,
		}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "user file:    %s (%s)\n", cfg.UserFile.Path, foundWord(cfg.UserFile, false))
		fmt.Fprintf(out, "project file: %s (%s)\n\n", cfg.ProjectFile.Path, foundWord(cfg.ProjectFile, true))
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tVALUE\tFROM")
		for _, s := range cfg.settingsTable() {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, s.Value, s.Origin)
		}
		tw.Flush()
	}
	if len(problems) > 0 {
		return &configError{Problems: problems}
	}
	return nil
}

// foundWord says whether a file was loaded and, for the project file,
// whether it is trusted.
func foundWord(f fileInfo, project bool) string {
	switch {
	case !f.Found:
		return "not found"
	case !project:
		return "loaded"
	case f.Trusted:
		return "loaded, trusted"
	}
	return "loaded, not trusted: it may only tighten the policy"
}
