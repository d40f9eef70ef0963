package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// versionInfo is `sbx version --json`.
type versionInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit,omitempty"`
	CommitTime     string `json:"commit_time,omitempty"`
	Modified       bool   `json:"modified,omitempty"`
	Go             string `json:"go"`
	Platform       string `json:"platform"`
	PluginProtocol string `json:"plugin_protocol"`
	PluginAPI      string `json:"plugin_api"`
	DefaultBackend string `json:"default_backend"`
}

func newVersionCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show sbx's version, commit and plugin protocol versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := buildVersion(a.env.DefaultBackend)
			if asJSON {
				return writeJSON(a.env.Stdout, v)
			}
			out := a.env.Stdout
			fmt.Fprintf(out, "sbx %s\n", v.Version)
			if v.Commit != "" {
				dirty := ""
				if v.Modified {
					dirty = " (modified)"
				}
				fmt.Fprintf(out, "commit:          %s%s %s\n", v.Commit, dirty, v.CommitTime)
			}
			fmt.Fprintf(out, "go:              %s %s\n", v.Go, v.Platform)
			fmt.Fprintf(out, "plugin protocol: %s\n", v.PluginProtocol)
			fmt.Fprintf(out, "plugin API:      %s\n", v.PluginAPI)
			fmt.Fprintf(out, "default backend: %s\n", v.DefaultBackend)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the versions as JSON")
	return cmd
}

// buildVersion collects the version information of this binary.
func buildVersion(defaultBackend string) versionInfo {
	proto, api := pluginVersions()
	v := versionInfo{
		Version:        version,
		Go:             runtime.Version(),
		Platform:       runtime.GOOS + "/" + runtime.GOARCH,
		PluginProtocol: proto,
		PluginAPI:      api,
		DefaultBackend: defaultBackend,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.CommitTime = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	return v
}
