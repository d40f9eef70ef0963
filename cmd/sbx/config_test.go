package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestConfig_PrecedenceAndOrigins(t *testing.T) {
	type layers struct {
		user, project string
		env           map[string]string
		flags         []string
	}
	tests := []struct {
		name       string
		in         layers
		key, value string // expected effective row
		origin     string // expected origin; USER/PROJECT are replaced by the paths
	}{
		{name: "default", key: "timeout", value: "none", origin: "default"},
		{name: "user file over default",
			in:  layers{user: `timeout = "10s"`},
			key: "timeout", value: "10s", origin: "user file USER"},
		{name: "project file over user file",
			in:  layers{user: `timeout = "10s"`, project: `timeout = "5s"`},
			key: "timeout", value: "5s", origin: "project file PROJECT"},
		{name: "profile over project file",
			in: layers{user: "timeout = \"10s\"\n[profiles.quick]\ntimeout = \"1s\"\n", project: `timeout = "5s"`,
				flags: []string{"--profile", "quick"}},
			key: "timeout", value: "1s", origin: "profile quick (user file USER)"},
		{name: "env over profile",
			in:  layers{user: "[profiles.quick]\ntimeout = \"1s\"\n", env: map[string]string{"SBX_TIMEOUT": "2s", "SBX_PROFILE": "quick"}},
			key: "timeout", value: "2s", origin: "env SBX_TIMEOUT"},
		{name: "flag over env",
			in:  layers{env: map[string]string{"SBX_TIMEOUT": "2s"}, flags: []string{"--timeout=3s"}},
			key: "timeout", value: "3s", origin: "flag --timeout"},
		{name: "backend from env",
			in:  layers{env: map[string]string{"SBX_BACKEND": "other"}},
			key: "backend", value: "other", origin: "env SBX_BACKEND"},
		{name: "backend from persistent flag before the verb",
			in:  layers{env: map[string]string{"SBX_BACKEND": "fake"}, flags: []string{"--backend=other"}},
			key: "backend", value: "other", origin: "flag --backend"},
		{name: "network from user file",
			in:  layers{user: `network = "allow"`},
			key: "network", value: "allow", origin: "user file USER"},
		{name: "flag turns a user-file bool back off",
			in:  layers{user: `read_only = true`, flags: []string{"--read-only=false"}},
			key: "read_only", value: "false", origin: "flag --read-only"},
		{name: "env.set merges entry by entry",
			in:  layers{user: "[env.set]\nA = \"1\"\nB = \"1\"\n", flags: []string{"--env", "B=2"}},
			key: "env.set.B", value: "2", origin: "flag --env"},
		{name: "env.set keeps the case of variable names",
			in:  layers{user: "[env.set]\nGOFLAGS = \"-mod=mod\"\n"},
			key: "env.set.GOFLAGS", value: "-mod=mod", origin: "user file USER"},
		{name: "memory from env",
			in:  layers{env: map[string]string{"SBX_MEMORY": "512M"}},
			key: "memory", value: "512MiB", origin: "env SBX_MEMORY"},
		{name: "clean env flag",
			in:  layers{flags: []string{"--clean-env"}},
			key: "env.inherit", value: "false", origin: "flag --clean-env"},
		{name: "no-tmp flag",
			in:  layers{flags: []string{"--no-tmp"}},
			key: "writable_tmp", value: "false", origin: "flag --no-tmp"},
		{name: "protect adds to the defaults",
			in:  layers{flags: []string{"--protect", ".env"}},
			key: "protect", value: ".env", origin: "flag --protect"},
		{name: "default protected names are defaults",
			key: "protect", value: ".git", origin: "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var user, project string
			if tt.in.user != "" {
				user = h.writeUser(tt.in.user)
			}
			if tt.in.project != "" {
				project = h.writeProject(tt.in.project)
			}
			for k, v := range tt.in.env {
				h.vars[k] = v
			}
			c := h.config(tt.in.flags...)
			want := strings.NewReplacer("USER", user, "PROJECT", project).Replace(tt.origin)
			if got := c.origin(tt.key, tt.value); got != want {
				t.Errorf("origin of %s = %s: got %q, want %q\nsettings: %+v", tt.key, tt.value, got, want, c.Settings)
			}
		})
	}
}

func TestConfig_ListsAddUpAcrossLayers(t *testing.T) {
	h := newHarness(t)
	userRoot, flagRoot := t.TempDir(), t.TempDir()
	user := h.writeUser("writable_roots = [\"" + userRoot + "\"]\n")
	h.vars["SBX_PROTECT"] = "secrets,.env"
	c := h.config("--writable-root", flagRoot, "--protect", ".env")
	if got, want := c.Policy.WritableRoots, []string{userRoot, flagRoot}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("writable roots = %v, want %v", got, want)
	}
	if got := c.origin("writable_roots", userRoot); got != "user file "+user {
		t.Errorf("origin of user root = %q", got)
	}
	if got := c.origin("writable_roots", flagRoot); got != "flag --writable-root" {
		t.Errorf("origin of flag root = %q", got)
	}
	// .env is given twice: listed once, with the first origin.
	n := 0
	for _, p := range c.Policy.Protected {
		if p == ".env" {
			n++
		}
	}
	if n != 1 || c.origin("protect", ".env") != "env SBX_PROTECT" {
		t.Errorf("protected = %v, origin of .env = %q", c.Policy.Protected, c.origin("protect", ".env"))
	}
}

func TestConfig_PolicyFromFlags(t *testing.T) {
	h := newHarness(t)
	read := t.TempDir()
	c := h.config("--network=allow", "--read", read, "--timeout", "90s", "--memory", "1G", "--pids", "256",
		"--cpu", "1.5", "--env", "A=b=c", "--unset-env", "SECRET", "--no-default-protect", "--protect", "x",
		"--allow-advisory", "--best-effort")
	p := c.Policy
	switch {
	case p.Network.Mode != "allow":
		t.Errorf("network = %q", p.Network.Mode)
	case p.Read.Mode != "restricted" || len(p.Read.Paths) != 1 || p.Read.Paths[0] != read:
		t.Errorf("read = %+v", p.Read)
	case p.Limits.Timeout != 90*time.Second || p.Limits.MemoryBytes != 1<<30 || p.Limits.Pids != 256 || p.Limits.CPU != 1.5:
		t.Errorf("limits = %+v", p.Limits)
	case p.Env.Set["A"] != "b=c" || len(p.Env.Unset) != 1 || p.Env.Unset[0] != "SECRET":
		t.Errorf("env = %+v", p.Env)
	case len(p.Protected) != 1 || p.Protected[0] != "x":
		t.Errorf("protected = %v, want only x", p.Protected)
	case !c.Acceptance.AllowAdvisory || !c.Acceptance.BestEffort:
		t.Errorf("acceptance = %+v", c.Acceptance)
	case p.Workspace != h.cwd:
		t.Errorf("workspace = %q, want %q", p.Workspace, h.cwd)
	}
}

func TestConfig_CwdFlagChoosesWorkspaceAndProjectFile(t *testing.T) {
	h := newHarness(t)
	other := t.TempDir()
	writeFile(t, filepath.Join(other, ".sbx.toml"), `timeout = "7s"`)
	c := h.config("--cwd", other)
	if c.Policy.Workspace != other || c.origin("workspace", "") != "flag --cwd" {
		t.Errorf("workspace = %q from %q", c.Policy.Workspace, c.origin("workspace", ""))
	}
	if c.Policy.Limits.Timeout != 7*time.Second {
		t.Errorf("timeout = %v: the project file of --cwd was not read", c.Policy.Limits.Timeout)
	}
}

func TestConfig_Profiles(t *testing.T) {
	userToml := `profile = "base"
[profiles.base]
pids = 100
[profiles.offline]
network = "deny"
timeout = "1m"
`
	t.Run("user file selects a default profile", func(t *testing.T) {
		h := newHarness(t)
		h.writeUser(userToml)
		c := h.config()
		if c.Profile != "base" || c.Policy.Limits.Pids != 100 {
			t.Errorf("profile %q, pids %d", c.Profile, c.Policy.Limits.Pids)
		}
	})
	t.Run("flag overrides the default profile", func(t *testing.T) {
		h := newHarness(t)
		h.writeUser(userToml)
		c := h.config("--profile", "offline")
		if c.Profile != "offline" || c.Policy.Limits.Pids != 0 || c.Policy.Limits.Timeout != time.Minute {
			t.Errorf("profile %q, pids %d, timeout %v", c.Profile, c.Policy.Limits.Pids, c.Policy.Limits.Timeout)
		}
		if got := c.origin("profile", ""); got != "flag --profile" {
			t.Errorf("profile origin %q", got)
		}
	})
	t.Run("project file may define profiles", func(t *testing.T) {
		h := newHarness(t)
		project := h.writeProject("[profiles.ci]\ntimeout = \"20m\"\n")
		c := h.config("--profile=ci")
		if c.Policy.Limits.Timeout != 20*time.Minute || c.origin("timeout", "") != "profile ci (project file "+project+")" {
			t.Errorf("timeout %v from %q", c.Policy.Limits.Timeout, c.origin("timeout", ""))
		}
	})
	t.Run("undefined profile lists the defined ones", func(t *testing.T) {
		h := newHarness(t)
		h.writeUser(userToml)
		h.mustFail(exitSbxError, []string{"config", "--profile", "ofline"},
			`profile "ofline" is not defined`, "defined: base, offline", `did you mean "offline"?`, "flag --profile")
	})
	t.Run("file-only key inside a profile", func(t *testing.T) {
		h := newHarness(t)
		user := h.writeUser("[profiles.x]\nplugin_dirs = [\"/p\"]\n")
		h.mustFail(exitSbxError, []string{"config"}, user+":2:1", `unknown key "profiles.x.plugin_dirs"`, "cannot be set in a profile")
	})
}

func TestConfig_UnknownKeysNameFileLineAndHint(t *testing.T) {
	for _, which := range []string{"user", "project"} {
		t.Run(which, func(t *testing.T) {
			h := newHarness(t)
			content := "netwrok = \"deny\"\ntimeout = \"1s\"\n[env]\ninheirt = false\n[profiles.a]\nwritable_root = []\n"
			var path string
			if which == "user" {
				path = h.writeUser(content)
			} else {
				path = h.writeProject(content)
			}
			h.mustFail(exitSbxError, []string{"run", "--", "true"},
				"configuration has 3 problems",
				path+`:1:1: unknown key "netwrok" (did you mean "network"?)`,
				path+`:4:1: unknown key "env.inheirt" (did you mean "inherit"?)`,
				path+`:6:1: unknown key "profiles.a.writable_root" (did you mean "writable_roots"?)`)
			if h.fake.request() != nil {
				t.Error("the command ran despite the bad configuration")
			}
		})
	}
}

func TestConfig_MalformedTOMLGivesLine(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"unterminated string", "timeout = \"1s\"\n\nnetwork = 'deny\n", ":3:"},
		{"duplicate key", "network = \"deny\"\nnetwork = \"allow\"\n", ":2:1: key network is already defined"},
		{"wrong type", "timeout = \"1s\"\npids = \"many\"\n", `:2:8: key "pids": want an integer, got a TOML string`},
		{"wrong type in a profile", "[profiles.a]\nread_only = \"yes\"\n", `:2:13: key "profiles.a.read_only": want a boolean, got a TOML string`},
		{"list where a string is wanted", "writable_roots = \"/x\"\n", `:1:18: key "writable_roots": want an array of path strings, got a TOML string`},
		{"profile table under the wrong name", "[profile.a]\nnetwork = \"deny\"\n", `:1:2: key "profile": want a string (a profile name; profiles are defined as [profiles.NAME] tables), got a TOML table`},
		{"bad syntax quotes the line", "timeout = \"1s\"\nnetwork = deny\n", `:2:11: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			path := h.writeUser(tt.content)
			h.mustFail(exitSbxError, []string{"config"}, path+tt.want)
		})
	}
}

func TestConfig_BadValuesAreAllReported(t *testing.T) {
	h := newHarness(t)
	user := h.writeUser("network = \"open\"\nmemory = \"12 parsecs\"\ntimeout = \"soon\"\ncpu = -1.0\n[plugin_checksums]\nsbx-backend-x = \"abc\"\n")
	h.vars["SBX_PIDS"] = "-3"
	h.vars["SBX_READ_ONLY"] = "maybe"
	h.mustFail(exitSbxError, []string{"run", "--memory", "1K", "--timeout", "-1s", "--cpu", "lots", "--env", "NOEQUALS",
		"--writable-root", "/nonexistent-root", "--", "true"},
		user+`: key "network": "open" is not a network mode`,
		user+`: key "memory": size "12 parsecs"`,
		user+`: key "timeout": "soon" is not a duration`,
		user+`: key "cpu"`,
		user+`: key "plugin_checksums": plugin "sbx-backend-x": "abc" is not a SHA-256`,
		`environment SBX_PIDS: "-3" is not a process count`,
		`environment SBX_READ_ONLY: "maybe" is not a boolean`,
		`flag --memory: size "1K": a memory limit must be at least 1MiB`,
		`flag --timeout: "-1s": a timeout must not be negative`,
		`flag --cpu: "lots" is not a CPU limit`,
		`flag --env: "NOEQUALS": want NAME=VALUE`,
		`writable_roots[0] = "/nonexistent-root": does not exist (from flag --writable-root)`,
	)
	if h.fake.request() != nil {
		t.Error("the command ran despite bad values")
	}
}

func TestConfig_WritableRoots(t *testing.T) {
	t.Run("nonexistent root from a flag names the flag", func(t *testing.T) {
		h := newHarness(t)
		missing := filepath.Join(h.cwd, "missing")
		h.mustFail(exitSbxError, []string{"run", "--writable-root", "missing", "--", "true"},
			`writable_roots[0] = "`+missing+`": does not exist (from flag --writable-root)`)
	})
	t.Run("relative root in the project file resolves against the project dir", func(t *testing.T) {
		h := newHarness(t)
		h.writeUser("trust_project_config = true\n")
		if err := os.Mkdir(filepath.Join(h.cwd, "out"), 0o755); err != nil {
			t.Fatal(err)
		}
		h.writeProject(`writable_roots = ["out"]`)
		c := h.config()
		if len(c.Policy.WritableRoots) != 1 || c.Policy.WritableRoots[0] != filepath.Join(h.cwd, "out") {
			t.Errorf("writable roots = %v", c.Policy.WritableRoots)
		}
	})
	t.Run("relative root in the user file resolves against its dir and must exist", func(t *testing.T) {
		h := newHarness(t)
		user := h.writeUser(`writable_roots = ["cache"]`)
		h.mustFail(exitSbxError, []string{"run", "--", "true"},
			filepath.Join(filepath.Dir(user), "cache")+`": does not exist (from user file `+user+`)`)
	})
	t.Run("tilde expands to home in files", func(t *testing.T) {
		h := newHarness(t)
		if err := os.Mkdir(filepath.Join(h.home, "cache"), 0o755); err != nil {
			t.Fatal(err)
		}
		h.writeUser(`writable_roots = ["~/cache"]`)
		c := h.config()
		if len(c.Policy.WritableRoots) != 1 || c.Policy.WritableRoots[0] != filepath.Join(h.home, "cache") {
			t.Errorf("writable roots = %v", c.Policy.WritableRoots)
		}
	})
	t.Run("a file is not a directory", func(t *testing.T) {
		h := newHarness(t)
		f := writeFile(t, filepath.Join(h.cwd, "file"), "x")
		h.mustFail(exitSbxError, []string{"run", "--writable-root", f, "--", "true"}, "is not a directory (from flag --writable-root)")
	})
	t.Run("every policy problem at once", func(t *testing.T) {
		h := newHarness(t)
		h.mustFail(exitSbxError, []string{"run", "--writable-root", "/nonexistent-a", "--writable-root", "/nonexistent-b", "--protect", "a/b", "--", "true"},
			`writable_roots[0] = "/nonexistent-a"`, `writable_roots[1] = "/nonexistent-b"`,
			`protected[5] = "a/b": must be a single file name, not a path (from flag --protect)`)
	})
	t.Run("config shows the table and the problems", func(t *testing.T) {
		h := newHarness(t)
		h.mustFail(exitSbxError, []string{"config", "--writable-root", "/nonexistent-a"}, "does not exist (from flag --writable-root)")
		if !strings.Contains(h.stdout.String(), "/nonexistent-a") || !strings.Contains(h.stdout.String(), "flag --writable-root") {
			t.Errorf("config table missing the root:\n%s", h.stdout.String())
		}
	})
}

func TestConfig_SBXConfigChoosesTheUserFile(t *testing.T) {
	h := newHarness(t)
	path := writeFile(t, filepath.Join(t.TempDir(), "custom.toml"), `pids = 9`)
	h.vars["SBX_CONFIG"] = path
	c := h.config()
	if c.Policy.Limits.Pids != 9 || c.UserFile.Path != path || !c.UserFile.Found {
		t.Errorf("pids %d, user file %+v", c.Policy.Limits.Pids, c.UserFile)
	}
	h.vars["SBX_CONFIG"] = filepath.Join(t.TempDir(), "missing.toml")
	h.mustFail(exitSbxError, []string{"config"}, "SBX_CONFIG=", "does not exist")
}

func TestConfig_DefaultUserFileIsXDG(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the XDG location is the Linux (and other Unix) default")
	}
	h := newHarness(t)
	if got, want := h.userFile(), filepath.Join(h.home, ".config", "sbx", "config.toml"); got != want {
		t.Errorf("user file = %q, want %q", got, want)
	}
	h.vars["XDG_CONFIG_HOME"] = filepath.Join(h.home, "xdg")
	if got, want := h.userFile(), filepath.Join(h.home, "xdg", "sbx", "config.toml"); got != want {
		t.Errorf("user file = %q, want %q", got, want)
	}
}

func TestProjectTrust_UntrustedProjectMayOnlyTighten(t *testing.T) {
	refused := []struct {
		name, project, user string
		key                 string
	}{
		{"network allow", `network = "allow"`, "", `"network" = "allow" would allow the network`},
		{"writable roots", `writable_roots = ["/tmp"]`, "", `"writable_roots"`},
		{"backend", `backend = "none"`, "", `"backend" = "none" would choose the backend`},
		{"profile", `profile = "open"`, "[profiles.open]\nnetwork = \"allow\"\n", `"profile" = "open"`},
		{"default protect off", `default_protect = false`, "", `"default_protect" = false`},
		{"read_only off", `read_only = false`, `read_only = true`, `"read_only" = false`},
		{"writable tmp back on", `writable_tmp = true`, `writable_tmp = false`, `"writable_tmp" = true`},
		{"inherit env back on", "[env]\ninherit = true\n", "[env]\ninherit = false\n", `"env.inherit" = true`},
		{"allow advisory", `allow_advisory = true`, "", `"allow_advisory" = true`},
		{"best effort", `best_effort = true`, "", `"best_effort" = true`},
		{"plugin dirs", `plugin_dirs = ["plugins"]`, "", `"plugin_dirs" would run plugin programs`},
		{"plugin checksums", "[plugin_checksums]\nsbx-backend-x = \"" + strings.Repeat("a", 64) + "\"\n", "", `"plugin_checksums"`},
		{"plugin keepalive", `plugin_keepalive = "1h"`, "", `"plugin_keepalive" = "1h0m0s" would decide how long plugin agents`},
		{"plugin keepalive off", `plugin_keepalive = "0"`, "", `"plugin_keepalive" = "0s"`},
		{"raise timeout", `timeout = "1h"`, `timeout = "1m"`, `"timeout" = "1h0m0s" would raise`},
		{"remove memory limit", `memory = 0`, `memory = "1G"`, `"memory" = "0B" would raise`},
		{"raise pids", `pids = 1000`, `pids = 10`, `"pids" = 1000`},
		{"add reads to the user's list", `read = ["/etc"]`, `read = ["/usr"]`, `"read"`},
		{"profile in the project file", "[profiles.p]\nnetwork = \"allow\"\n", "", `"profiles.p.network" = "allow"`},
	}
	for _, tt := range refused {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			h := newHarness(t)
			user := h.writeUser(tt.user)
			project := h.writeProject(tt.project)
			args := []string{"run", "--", "true"}
			if strings.HasPrefix(tt.name, "profile in") {
				args = []string{"run", "--profile=p", "--", "true"}
			}
			h.mustFail(exitSbxError, args, "project file "+project+": key "+tt.key,
				"project files are not trusted", "trusted_projects = [\""+h.cwd+"\"]", user)
			if h.fake.request() != nil {
				t.Error("the command ran")
			}
		})
		t.Run("trusted: "+tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.writeUser("trusted_projects = [\"" + h.cwd + "\"]\n" + tt.user)
			h.writeProject(tt.project)
			if err := os.MkdirAll(filepath.Join(h.cwd, "plugins"), 0o755); err != nil {
				t.Fatal(err)
			}
			args := []string{"config"}
			if strings.HasPrefix(tt.name, "profile in") {
				args = append(args, "--profile=p")
			}
			if code := h.run(args...); code != 0 {
				t.Errorf("trusted project refused: exit %d: %s", code, h.stderr.String())
			}
		})
	}

	allowed := []struct{ name, project, user string }{
		{"network deny", `network = "deny"`, `network = "allow"`},
		{"more protected names", `protect = [".env"]`, ""},
		{"read only", `read_only = true`, ""},
		{"lower a limit", `timeout = "30s"`, `timeout = "1m"`},
		{"set a limit the user did not", `pids = 64`, ""},
		{"restrict reads", `read = ["/usr"]`, ""},
		{"no tmp", `writable_tmp = false`, ""},
		{"clean env and set vars", "[env]\ninherit = false\nset = { CI = \"1\" }\nunset = [\"TOKEN\"]\n", ""},
		{"no-op read_only false", `read_only = false`, ""},
	}
	for _, tt := range allowed {
		t.Run("allowed: "+tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.writeUser(tt.user)
			h.writeProject(tt.project)
			if code := h.run("config"); code != 0 {
				t.Errorf("exit %d: %s", code, h.stderr.String())
			}
		})
	}

	t.Run("project file cannot trust itself", func(t *testing.T) {
		h := newHarness(t)
		h.writeUser("trust_project_config = true\n")
		h.writeProject("trust_project_config = true\n")
		h.mustFail(exitSbxError, []string{"config"}, `"trust_project_config": only the user file`)
	})
	t.Run("flags may loosen what a project file tightened", func(t *testing.T) {
		h := newHarness(t)
		h.writeProject(`network = "deny"`)
		c := h.config("--network=allow")
		if c.Policy.Network.Mode != "allow" {
			t.Errorf("network = %q", c.Policy.Network.Mode)
		}
	})
}

func TestEnvTypos_WarnsOnlyForCloseNames(t *testing.T) {
	got := envTypos([]string{"SBX_NETWROK=allow", "SBX_E2E_HELPER=1", "SBX_NETWORK=deny", "SBX_PLUGIN_PATH=/p", "PATH=/bin"})
	if len(got) != 1 || !strings.Contains(got[0], "SBX_NETWROK") || !strings.Contains(got[0], "SBX_NETWORK") {
		t.Errorf("warnings = %q", got)
	}
}

func TestDidYouMean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"netwrok", "network"},
		{"writable_root", "writable_roots"},
		{"timout", "timeout"},
		{"zzzzzz", ""},
	}
	for _, tt := range tests {
		if got := didYouMean(tt.in, topLevelNames); got != tt.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Every command that reads the configuration warns about a mistyped SBX_*
// variable, which would otherwise be ignored without a word.
func TestEnvTypos_EveryCommandThatReadsTheConfigurationWarns(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--", "true"}, {"explain"}, {"config"}, {"backends"}, {"setup", "--status"},
	} {
		t.Run(args[0], func(t *testing.T) {
			h := newHarness(t)
			h.vars["SBX_NETWROK"] = "allow"
			h.run(append([]string{"--backend=fake"}, args...)...)
			if !strings.Contains(h.stderr.String(), "SBX_NETWROK") {
				t.Errorf("sbx %s: no warning about SBX_NETWROK; stderr:\n%s", strings.Join(args, " "), h.stderr.String())
			}
		})
	}
}

// Shell completion reads the configuration too, but its output is the
// completion: no warnings there.
func TestEnvTypos_CompletionStaysQuiet(t *testing.T) {
	h := newHarness(t)
	h.vars["SBX_NETWROK"] = "allow"
	h.run("__complete", "--backend", "")
	if !strings.Contains(h.stdout.String(), "fake") {
		t.Fatalf("completion did not list the backends: %q", h.stdout.String())
	}
	if strings.Contains(h.stdout.String()+h.stderr.String(), "SBX_NETWROK") {
		t.Errorf("completion warned about a typo: stdout %q, stderr %q", h.stdout.String(), h.stderr.String())
	}
}
