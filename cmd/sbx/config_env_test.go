package main

import (
	"os"
	"strings"
	"testing"
)

// exportEnv makes the SBX_* variables of the process those of h.vars, for
// the duration of the test: the environment layer reads them through
// viper, which looks at the process environment, not at
// environment.LookupEnv. SBX_* variables of the real environment (a
// developer's SBX_BACKEND) are hidden, so they cannot change the outcome.
// t.Setenv restores everything when the test ends (and refuses parallel
// tests, which could not share one process environment).
func (h *harness) exportEnv() {
	h.t.Helper()
	hideSBXEnv(h.t)
	for name, v := range h.vars {
		if strings.HasPrefix(name, "SBX_") {
			h.t.Setenv(name, v)
		}
	}
}

// hideSBXEnv unsets the SBX_* variables of the process until the end of
// the test.
func hideSBXEnv(t testing.TB) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "SBX_") {
			t.Setenv(name, "") // registers the restore
			os.Unsetenv(name)
		}
	}
}

func TestEnvLayer_EveryKeyIsReadFromItsVariable(t *testing.T) {
	hideSBXEnv(t)
	dir := t.TempDir()
	values := map[string]string{
		kBackend: "other", kProfile: "p", kNetwork: "allow", kWritableRoots: dir, kProtect: ".env",
		kDefaultProtect: "false", kReadOnly: "true", kRead: dir, kWritableTmp: "false", kEnvInherit: "0",
		kEnvUnset: "TOKEN", kTimeout: "5s", kMemory: "1G", kPids: "7", kCPU: "0.5",
		kAllowAdvisory: "1", kBestEffort: "true", kPluginKeepAlive: "90s",
	}
	if len(values) != len(envKeys) {
		t.Fatalf("the test covers %d keys, envKeys has %d", len(values), len(envKeys))
	}
	for _, key := range envKeys {
		t.Run(envVar(key), func(t *testing.T) {
			t.Setenv(envVar(key), values[key])
			l, probs := envLayer(os.LookupEnv, dir, dir)
			if len(probs) > 0 {
				t.Fatalf("problems: %q", probs)
			}
			m := newMerger()
			m.apply(l)
			got := m.origins.scalar[key]
			if l := m.origins.lists[key]; len(l) > 0 {
				got = l[0]
			}
			if key == kProfile && l.s.Profile != nil {
				got = l.origin(key)
			}
			if want := "env " + envVar(key); got != want {
				t.Errorf("%s=%s: origin %q, want %q", envVar(key), values[key], got, want)
			}
		})
	}
}

func TestEnvLayer_EmptyVariableIsUnsetAndOthersAreIgnored(t *testing.T) {
	hideSBXEnv(t)
	t.Setenv("SBX_TIMEOUT", "")
	t.Setenv("SBX_ENV.INHERIT", "false") // not the variable of env.inherit
	t.Setenv("SBX_PLUGIN_DIRS", "/p")    // plugin_dirs has no variable
	l, probs := envLayer(os.LookupEnv, t.TempDir(), "")
	if len(probs) > 0 || l.s.Timeout != nil || l.s.EnvInherit != nil || l.s.PluginDirs != nil {
		t.Errorf("problems %q, settings %+v", probs, l.s)
	}
}

func TestFlagLayer_RepeatedValuesArriveExactly(t *testing.T) {
	h := newHarness(t)
	c := h.config("--env", "A=b,c", "--env", "Q=\"quoted\"", "--env", "CRLF=x\r\ny", "--unset-env", "X,Y")
	want := map[string]string{"A": "b,c", "Q": `"quoted"`, "CRLF": "x\r\ny"}
	for k, v := range want {
		if c.Policy.Env.Set[k] != v {
			t.Errorf("env.set[%s] = %q, want %q", k, c.Policy.Env.Set[k], v)
		}
	}
	if len(c.Policy.Env.Unset) != 1 || c.Policy.Env.Unset[0] != "X,Y" {
		t.Errorf("env.unset = %q", c.Policy.Env.Unset)
	}
	// A lone empty element is refused, not dropped.
	h.mustFail(exitSbxError, []string{"run", "--writable-root", "", "--", "true"}, "flag --writable-root: empty path")
}

func TestFlagLayer_DefaultsDoNotCount(t *testing.T) {
	h := newHarness(t)
	h.writeUser("read_only = true\nwritable_tmp = false\n")
	c := h.config()
	if !c.Policy.ReadOnly || c.Policy.WritableTmp {
		t.Errorf("a flag's default overrode the user file: read_only %v, writable_tmp %v", c.Policy.ReadOnly, c.Policy.WritableTmp)
	}
	c = h.config("--read-only=false", "--no-tmp=false")
	if c.Policy.ReadOnly || !c.Policy.WritableTmp || c.origin("writable_tmp", "") != "flag --no-tmp" {
		t.Errorf("explicit flags: read_only %v, writable_tmp %v from %q", c.Policy.ReadOnly, c.Policy.WritableTmp, c.origin("writable_tmp", ""))
	}
}

func TestFlagLayer_ProfileFlag(t *testing.T) {
	h := newHarness(t)
	h.writeUser("profile = \"a\"\n[profiles.a]\npids = 1\n[profiles.b]\npids = 2\n")
	h.vars["SBX_PROFILE"] = "a"
	c := h.config("--profile", "b")
	if c.Profile != "b" || c.Policy.Limits.Pids != 2 || c.origin("profile", "") != "flag --profile" {
		t.Errorf("profile %q from %q, pids %d", c.Profile, c.origin("profile", ""), c.Policy.Limits.Pids)
	}
	h.mustFail(exitSbxError, []string{"config", "--profile="}, "flag --profile: empty profile name")
}
