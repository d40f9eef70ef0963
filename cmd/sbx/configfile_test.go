package main

import (
	"strings"
	"testing"
	"time"
)

func TestConfigFile_CaseSensitiveNamesSurviveViper(t *testing.T) {
	h := newHarness(t)
	sum := strings.Repeat("ab", 32)
	h.writeUser(`[env.set]
GOFLAGS = "-mod=mod"
Mixed_Case = "1"

[plugin_checksums]
sbx-backend-MixedCase = "` + sum + `"

[profiles.CI]
timeout = "1m"
env.set = { MyVar = "x" }

[profiles."go1.22"]
pids = 5

[profiles.empty]
`)
	c := h.config("--profile", "CI")
	for _, row := range []struct{ key, value string }{
		{"env.set.GOFLAGS", "-mod=mod"},
		{"env.set.Mixed_Case", "1"},
		{"env.set.MyVar", "x"},
		{"plugin_checksums.sbx-backend-MixedCase", sum},
	} {
		if got := c.origin(row.key, row.value); !strings.HasPrefix(got, "user file") && !strings.HasPrefix(got, "profile CI") {
			t.Errorf("row %s = %s: origin %q\nsettings: %+v", row.key, row.value, got, c.Settings)
		}
	}
	if c.Policy.Limits.Timeout != time.Minute || c.Profile != "CI" {
		t.Errorf("profile %q, timeout %v: the profile [profiles.CI] was not applied", c.Profile, c.Policy.Limits.Timeout)
	}
	if c := h.config("--profile", "go1.22"); c.Policy.Limits.Pids != 5 {
		t.Errorf("profile with a dot in its name: pids = %d, want 5", c.Policy.Limits.Pids)
	}
	// An empty profile exists (viper drops empty tables; sbx must not).
	h.config("--profile", "empty")
	h.mustFail(exitSbxError, []string{"config", "--profile", "ci"}, `profile "ci" is not defined`, `did you mean "CI"?`)
}

func TestConfigFile_KeysAreCaseInsensitive(t *testing.T) {
	h := newHarness(t)
	h.writeUser("Network = \"allow\"\n[ENV]\nInherit = false\n[Profiles.x]\nPids = 3\n")
	c := h.config("--profile=x")
	if c.Policy.Network.Mode != "allow" || c.Policy.Env.Inherit || c.Policy.Limits.Pids != 3 {
		t.Errorf("network %q, inherit %v, pids %d", c.Policy.Network.Mode, c.Policy.Env.Inherit, c.Policy.Limits.Pids)
	}
}

func TestConfigFile_KeysDifferingOnlyInCaseAreRefused(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"top level", "network = \"deny\"\nNetwork = \"allow\"\n", `keys "Network" and "network" differ only in case`},
		{"in env", "[env]\ninherit = false\nINHERIT = true\n", `keys "env.INHERIT" and "env.inherit" differ only in case`},
		{"profile names", "[profiles.ci]\npids = 1\n[profiles.CI]\npids = 2\n", `keys "profiles.CI" and "profiles.ci" differ only in case`},
		{"in a profile", "[profiles.p]\npids = 1\nPIDS = 2\n", `keys "profiles.p.PIDS" and "profiles.p.pids" differ only in case`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			path := h.writeUser(tt.content)
			h.mustFail(exitSbxError, []string{"config"}, path+": "+tt.want)
		})
	}
	t.Run("env.set and plugin_checksums names are case-sensitive", func(t *testing.T) {
		h := newHarness(t)
		sum := strings.Repeat("0", 64)
		h.writeUser("[env.set]\nPATH = \"/a\"\npath = \"/b\"\n[plugin_checksums]\nsbx-backend-x = \"" + sum + "\"\nSBX-BACKEND-X = \"" + sum + "\"\n[profiles.p.env.set]\nA = \"1\"\na = \"2\"\n")
		c := h.config("--profile=p")
		if c.Policy.Env.Set["PATH"] != "/a" || c.Policy.Env.Set["path"] != "/b" || c.Policy.Env.Set["A"] != "1" || c.Policy.Env.Set["a"] != "2" {
			t.Errorf("env.set = %v", c.Policy.Env.Set)
		}
		if c.origin("plugin_checksums.SBX-BACKEND-X", "") == "(no such row)" || c.origin("plugin_checksums.sbx-backend-x", "") == "(no such row)" {
			t.Errorf("plugin_checksums rows: %+v", c.Settings)
		}
	})
}

// checkFile runs first, so viper's own strictness is proved on viperDecode
// alone: it must refuse what the go-toml pass refuses, not convert it.
func TestViperDecode_IsStrictOnItsOwn(t *testing.T) {
	refused := []string{
		`read_only = "yes"`,
		`pids = "5"`,
		`network = 1`,
		`cpu = true`,
		`timeout = 5`,
		`writable_roots = "/x"`,
		`netwrok = "deny"`,
		"[profiles.a]\nplugin_dirs = [\"/p\"]\n",
		"[env]\ninheirt = false\n",
	}
	for _, content := range refused {
		if _, err := viperDecode("/f.toml", []byte(content)); err == nil {
			t.Errorf("viperDecode(%q) accepted it", content)
		}
	}
	f, err := viperDecode("/f.toml", []byte("pids = 5\ncpu = 2\nmemory = \"1G\"\n[profiles.a]\nread_only = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if *f.Pids != 5 || *f.CPU != 2 || f.Memory != "1G" || !*f.Profiles["a"].ReadOnly {
		t.Errorf("decoded %+v", f)
	}
}

// mapstructure turns a float into an integer even without weak typing;
// the go-toml pass is what refuses it, with its position.
func TestConfigFile_FractionalIntegerRefusedWithPosition(t *testing.T) {
	h := newHarness(t)
	path := h.writeUser("pids = 1.5\n")
	h.mustFail(exitSbxError, []string{"config"}, path+`:1:8: key "pids": want an integer, got a TOML float`)
}
