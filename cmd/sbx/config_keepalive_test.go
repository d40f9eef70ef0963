package main

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// plugin_keepalive is not a policy key: it says how long plugin agents
// (host.Options.KeepAlive) stay up. These tests prove where it may be set,
// how it is shown, and that it reaches the plugin host.

func TestPluginKeepAlive_LayersAndOrigins(t *testing.T) {
	def, defValue := 5*time.Minute, "5m0s"
	if runtime.GOOS != "linux" {
		def, defValue = 0, "0 (plugin agents off)"
	}
	tests := []struct {
		name          string
		user, project string
		env           string // SBX_PLUGIN_KEEPALIVE, "" for unset
		want          time.Duration
		value, origin string // the `sbx config` row; USER and PROJECT are replaced by the paths
	}{
		{name: "default", want: def, value: defValue, origin: "default"},
		{name: "user file", user: `plugin_keepalive = "30s"`,
			want: 30 * time.Second, value: "30s", origin: "user file USER"},
		{name: "user file turns agents off", user: `plugin_keepalive = "0"`,
			want: 0, value: "0 (plugin agents off)", origin: "user file USER"},
		{name: "env over user file", user: `plugin_keepalive = "30s"`, env: "0",
			want: 0, value: "0 (plugin agents off)", origin: "env SBX_PLUGIN_KEEPALIVE"},
		{name: "env alone", env: "1h30m",
			want: 90 * time.Minute, value: "1h30m0s", origin: "env SBX_PLUGIN_KEEPALIVE"},
		{name: "trusted project file over user file",
			user: "trust_project_config = true\nplugin_keepalive = \"30s\"\n", project: `plugin_keepalive = "10s"`,
			want: 10 * time.Second, value: "10s", origin: "project file PROJECT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var user, project string
			if tt.user != "" {
				user = h.writeUser(tt.user)
			}
			if tt.project != "" {
				project = h.writeProject(tt.project)
			}
			if tt.env != "" {
				h.vars["SBX_PLUGIN_KEEPALIVE"] = tt.env
			}
			c := h.config()
			value, origin := tt.value, strings.NewReplacer("USER", user, "PROJECT", project).Replace(tt.origin)
			if runtime.GOOS != "linux" && tt.want > 0 {
				value += " (no effect: plugin agents are Linux-only)"
			}
			if got := c.origin(kPluginKeepAlive, value); got != origin {
				t.Errorf("row %s = %s: origin %q, want %q\nsettings: %+v", kPluginKeepAlive, value, got, origin, c.Settings)
			}
			if c.PluginKeepAlive != tt.want.String() {
				t.Errorf("JSON plugin_keepalive = %q, want %q", c.PluginKeepAlive, tt.want.String())
			}
			// What the configuration says is what the plugin host gets.
			if code := h.run("run", "--", "true"); code != 0 {
				t.Fatalf("run: exit %d: %s", code, h.stderr.String())
			}
			if h.set.opts.KeepAlive != tt.want {
				t.Errorf("plugin host keep-alive = %v, want %v", h.set.opts.KeepAlive, tt.want)
			}
		})
	}
}

func TestPluginKeepAlive_BadValuesAreRefused(t *testing.T) {
	tests := []struct {
		name string
		user string // file content, or "" for none
		env  string
		want []string // USER is replaced by the user file's path
	}{
		{name: "not a duration in the user file", user: `plugin_keepalive = "soon"`,
			want: []string{`USER: key "plugin_keepalive": "soon" is not a duration`, `"0" turns plugin agents off`}},
		{name: "no unit", user: `plugin_keepalive = "5"`,
			want: []string{`USER: key "plugin_keepalive": "5" is not a duration`}},
		{name: "negative", user: `plugin_keepalive = "-1m"`,
			want: []string{`USER: key "plugin_keepalive": "-1m": the plugin keep-alive must not be negative`}},
		{name: "an integer is not a duration string", user: `plugin_keepalive = 0`,
			want: []string{`USER:1:20: key "plugin_keepalive": want a duration string, e.g. "5m" ("0" turns plugin agents off), got a TOML integer`}},
		{name: "not in a profile", user: "[profiles.x]\nplugin_keepalive = \"1m\"\n",
			want: []string{`USER:2:1: unknown key "profiles.x.plugin_keepalive"`, "cannot be set in a profile"}},
		{name: "bad variable", env: "forever",
			want: []string{`environment SBX_PLUGIN_KEEPALIVE: "forever" is not a duration`}},
		{name: "negative variable", env: "-5s",
			want: []string{`environment SBX_PLUGIN_KEEPALIVE: "-5s": the plugin keep-alive must not be negative`}},
		{name: "typo in the key", user: `plugin_keepalvie = "1m"`,
			want: []string{`unknown key "plugin_keepalvie" (did you mean "plugin_keepalive"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			user := ""
			if tt.user != "" {
				user = h.writeUser(tt.user)
			}
			if tt.env != "" {
				h.vars["SBX_PLUGIN_KEEPALIVE"] = tt.env
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "USER", user))
			}
			h.mustFail(exitSbxError, []string{"run", "--", "true"}, want...)
			if h.fake.request() != nil {
				t.Error("the command ran despite the bad value")
			}
		})
	}
}

func TestPluginKeepAlive_UntrustedProjectFileMayNotSetIt(t *testing.T) {
	for _, v := range []string{"1h", "0"} {
		t.Run(v, func(t *testing.T) {
			h := newHarness(t)
			user := h.writeUser(`plugin_keepalive = "30s"`)
			project := h.writeProject(`plugin_keepalive = "` + v + `"`)
			h.mustFail(exitSbxError, []string{"run", "--", "true"},
				"project file "+project+`: key "plugin_keepalive"`,
				"plugin agents, which run outside the sandbox",
				"Set it in the user file or with SBX_PLUGIN_KEEPALIVE",
				`trusted_projects = ["`+h.cwd+`"]`, user)
			if h.fake.request() != nil {
				t.Error("the command ran")
			}
		})
	}
}

func TestPluginKeepAlive_VariableIsNotATypo(t *testing.T) {
	if got := envTypos([]string{"SBX_PLUGIN_KEEPALIVE=0"}); len(got) != 0 {
		t.Errorf("warnings for a known variable: %q", got)
	}
	got := envTypos([]string{"SBX_PLUGIN_KEEPALIV=0"})
	if len(got) != 1 || !strings.Contains(got[0], "did you mean SBX_PLUGIN_KEEPALIVE?") {
		t.Errorf("warnings = %q", got)
	}
}
