package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sbxdev/sbx/core"
)

// Configuration layers, lowest precedence first:
//
//	default < user file < project file < profile < environment < flags
//
// The profile sits above both files because choosing a profile (--profile,
// SBX_PROFILE or profile = "...") is an explicit request for that named set
// of values: it must win over the files' everyday values, or a profile
// could not, say, turn the network back off in a project whose file allows
// it. It sits below the environment and flags because those are the most
// specific, per-invocation settings.
//
// Scalars: the highest layer that sets a key wins. Lists (writable_roots,
// protect, read, env.unset, plugin_dirs): every layer adds its elements,
// duplicates dropped, so a flag adds to what files say. Tables (env.set,
// plugin_checksums): merged entry by entry, the highest layer winning.

// fileInfo says which file a layer came from and whether it was there.
type fileInfo struct {
	Path  string `json:"path"`
	Found bool   `json:"found"`
	// Trusted is set for a project file the user file trusts.
	Trusted bool `json:"trusted,omitempty"`
}

// layer is one source of settings and how to name where a key came from.
type layer struct {
	s settings
	// origin names the source of key ("user file /x/config.toml",
	// "env SBX_NETWORK", "flag --network").
	origin func(key string) string
}

// fixedOrigin is the origin function of a layer that is one place.
func fixedOrigin(where string) func(string) string {
	return func(string) string { return where }
}

// config is the effective configuration of one invocation: the policy, the
// backend, the plugin options, and where every value came from.
type config struct {
	Workspace   string
	UserFile    fileInfo
	ProjectFile fileInfo
	Profile     string
	Backend     string
	Policy      core.Policy
	Accept      core.Acceptance
	PluginDirs  []string
	PluginPins  map[string]string
	// PluginKeepAlive is how long a plugin agent stays up without calls
	// (host.Options.KeepAlive); 0 turns agents off.
	PluginKeepAlive time.Duration
	// DefaultProtect tells whether core.DefaultProtectedNames are in
	// Policy.Protected.
	DefaultProtect bool
	Origins        *origins
}

// loadInput is what loadConfig needs besides the environment.
type loadInput struct {
	// Workspace is the absolute workspace directory (where .sbx.toml is
	// looked for) and WorkspaceOrigin how it was chosen.
	Workspace       string
	WorkspaceOrigin string
	// Cwd is sbx's current directory (relative paths in the environment
	// resolve against it).
	Cwd string
	// LookupEnv reads the environment (app.env.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Flags is the flag layer (nil origin function when no flags); its
	// Profile is --profile.
	Flags layer
}

// loadConfig reads the files and the environment, merges them with the
// flags, and builds the policy. It reports every problem it can find at
// once, as a *configError. Even then it returns the configuration built
// from the values that were valid, so that the caller can add the
// policy's own problems (resolvePolicy); such a configuration must not be
// used for anything else. It does not look at the file system beyond
// reading the files.
func (a *app) loadConfig(in loadInput) (*config, error) {
	var probs []string
	home := a.home()

	cfg := &config{Workspace: in.Workspace}

	// The user file: $SBX_CONFIG, or the platform's config directory.
	userPath, explicit := a.userConfigPath(home)
	cfg.UserFile.Path = userPath
	user, err := readConfigFile(userPath, home)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		// No user file: fine.
	case errors.Is(err, fs.ErrNotExist):
		probs = append(probs, fmt.Sprintf("SBX_CONFIG=%s: the file does not exist; create it or unset SBX_CONFIG", userPath))
	case err != nil:
		probs = append(probs, problemsOf(err)...)
	}
	cfg.UserFile.Found = user != nil

	// The project file, in the workspace.
	projectPath := filepath.Join(in.Workspace, ".sbx.toml")
	cfg.ProjectFile.Path = projectPath
	project, err := readConfigFile(projectPath, home)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		probs = append(probs, problemsOf(err)...)
	}
	cfg.ProjectFile.Found = project != nil
	if user != nil && (user.Top.TrustProjectConfig != nil && *user.Top.TrustProjectConfig ||
		underAny(in.Workspace, user.Top.TrustedProjects)) {
		cfg.ProjectFile.Trusted = true
	}

	envL, envProbs := envLayer(in.LookupEnv, in.Cwd, home)
	probs = append(probs, envProbs...)

	// Defaults, then the files.
	m := newMerger()
	m.apply(defaultLayer(a.env.DefaultBackend))
	if user != nil {
		m.apply(layer{s: user.Top, origin: fixedOrigin("user file " + user.Path)})
	}
	base := m.snapshot() // what the user alone says, for the trust rules
	if project != nil {
		probs = append(probs, projectProblems(project.Path, "", project.Top, base, cfg.ProjectFile.Trusted, userPath)...)
		m.apply(layer{s: project.Top, origin: fixedOrigin("project file " + project.Path)})
	}

	// The profile: chosen by the highest layer that names one.
	profile, profileOrigin := "", ""
	for _, c := range []struct {
		name   *string
		origin string
	}{
		{fileProfile(user), "user file " + userPath},
		{fileProfile(project), "project file " + projectPath},
		{envL.s.Profile, "env SBX_PROFILE"},
		{in.Flags.s.Profile, "flag --" + fProfile},
	} {
		if c.name != nil {
			profile, profileOrigin = *c.name, c.origin
		}
	}
	if profile != "" {
		cfg.Profile = profile
		m.origins.set(kProfile, profileOrigin)
		var defined []string
		found := false
		if user != nil {
			if ps, ok := user.Profiles[profile]; ok {
				found = true
				m.apply(layer{s: ps, origin: fixedOrigin(fmt.Sprintf("profile %s (user file %s)", profile, user.Path))})
			}
			defined = append(defined, sortedKeys(user.Profiles)...)
		}
		if project != nil {
			if ps, ok := project.Profiles[profile]; ok {
				found = true
				probs = append(probs, projectProblems(project.Path, "profiles."+profile+".", ps, base, cfg.ProjectFile.Trusted, userPath)...)
				m.apply(layer{s: ps, origin: fixedOrigin(fmt.Sprintf("profile %s (project file %s)", profile, project.Path))})
			}
			defined = append(defined, sortedKeys(project.Profiles)...)
		}
		if !found {
			list := "none are defined"
			if len(defined) > 0 {
				list = "defined: " + strings.Join(defined, ", ")
			}
			probs = append(probs, fmt.Sprintf("%s: profile %q is not defined in %s or %s (%s)%s",
				profileOrigin, profile, userPath, projectPath, list, hintFor(profile, defined)))
		}
	}

	m.apply(envL)
	if in.Flags.origin != nil {
		m.apply(in.Flags)
	}
	m.origins.set("workspace", in.WorkspaceOrigin)
	cfg.Backend = *m.s.Backend
	cfg.Policy, cfg.Accept = m.policy(in.Workspace)
	cfg.PluginDirs = m.s.PluginDirs
	cfg.PluginPins = m.s.PluginChecksums
	cfg.PluginKeepAlive = *m.s.PluginKeepAlive
	cfg.DefaultProtect = *m.s.DefaultProtect
	cfg.Origins = m.origins
	if len(probs) > 0 {
		return cfg, &configError{Problems: probs}
	}
	return cfg, nil
}

// home returns the user's home directory from the environment ($HOME, or
// %USERPROFILE% on Windows), "" when unknown.
func (a *app) home() string {
	home, _ := a.env.LookupEnv("HOME")
	if home == "" && runtime.GOOS == "windows" {
		home, _ = a.env.LookupEnv("USERPROFILE")
	}
	return home
}

// readConfigFile reads and parses a configuration file; a missing file
// gives an error matching fs.ErrNotExist.
func readConfigFile(path, home string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, &configError{Problems: []string{fmt.Sprintf("%s: cannot read: %v", path, err)}}
	}
	return parseConfigFile(path, data, home)
}

// problemsOf returns the problems of a *configError, or the error itself.
func problemsOf(err error) []string {
	var ce *configError
	if errors.As(err, &ce) {
		return ce.Problems
	}
	return []string{err.Error()}
}

// userConfigPath returns the user file's path and whether SBX_CONFIG chose
// it: $SBX_CONFIG, else $XDG_CONFIG_HOME/sbx/config.toml (Linux and other
// Unix: ~/.config when unset), ~/Library/Application Support/sbx/config.toml
// on macOS, %AppData%\sbx\config.toml on Windows.
func (a *app) userConfigPath(home string) (string, bool) {
	if p, ok := a.env.LookupEnv("SBX_CONFIG"); ok && p != "" {
		return p, true
	}
	dir := ""
	switch runtime.GOOS {
	case "windows":
		dir, _ = a.env.LookupEnv("AppData")
	case "darwin":
		if home != "" {
			dir = filepath.Join(home, "Library", "Application Support")
		}
	default:
		if x, _ := a.env.LookupEnv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
			dir = x
		} else if home != "" {
			dir = filepath.Join(home, ".config")
		}
	}
	if dir == "" {
		// No home: a path that does not exist, shown by `sbx config`.
		return filepath.Join("(no config directory: set $HOME or SBX_CONFIG)", "sbx", "config.toml"), false
	}
	return filepath.Join(dir, "sbx", "config.toml"), false
}

// agentsSupported tells whether the plugin host keeps plugins running as
// per-user agents on this OS (host.Options.KeepAlive): Linux only, because
// an agent's safety rests on the kernel's view of its peer
// (plugins/internal/peercred). Elsewhere plugin_keepalive is accepted and
// has no effect.
const agentsSupported = runtime.GOOS == "linux"

// defaultKeepAlive is plugin_keepalive's default: 5m where agents exist, 0
// (off) elsewhere, so that `sbx config` does not show a setting that does
// nothing as if it were in effect.
func defaultKeepAlive() time.Duration {
	if agentsSupported {
		return 5 * time.Minute
	}
	return 0
}

// defaultLayer is sbx's defaults, as a layer: core.DefaultPolicy and the
// host's default backend.
func defaultLayer(backend string) layer {
	d := core.DefaultPolicy("")
	f, t := false, true
	zeroD, zero64, zeroF := time.Duration(0), int64(0), float64(0)
	network := string(d.Network.Mode)
	keepAlive := defaultKeepAlive()
	return layer{s: settings{
		Backend:        &backend,
		Network:        &network,
		DefaultProtect: &t,
		ReadOnly:       &f,
		WritableTmp:    &d.WritableTmp,
		EnvInherit:     &d.Env.Inherit,
		Timeout:        &zeroD,
		Memory:         &zero64,
		Pids:           &zero64,
		CPU:            &zeroF,
		AllowAdvisory:  &f,
		BestEffort:     &f,
		// Not a policy key: how long plugins stay up between commands.
		PluginKeepAlive: &keepAlive,
	}, origin: fixedOrigin("default")}
}

// fileProfile returns the profile a file selects, nil for none.
func fileProfile(f *fileConfig) *string {
	if f == nil {
		return nil
	}
	return f.Top.Profile
}

// underAny reports whether path is one of dirs or inside one.
func underAny(path string, dirs []string) bool {
	for _, d := range dirs {
		if rel, err := filepath.Rel(d, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// projectProblems applies the project-file trust rule: a .sbx.toml lives
// in the workspace and may come with a cloned repository, so unless the
// user file trusts project files it may only make the policy stricter than
// what the defaults and the user file say. prefix is "" for the file's top
// level or "profiles.NAME." for one of its profiles; base is the merged
// defaults and user file.
func projectProblems(path, prefix string, s settings, base settings, trusted bool, userPath string) []string {
	var probs []string
	// Keys that only the user file may set, trusted or not.
	if s.TrustProjectConfig != nil || s.TrustedProjects != nil {
		key := kTrustProject
		if s.TrustProjectConfig == nil {
			key = kTrustedProjects
		}
		probs = append(probs, fmt.Sprintf("project file %s: key %q: only the user file (%s) may say which project files to trust", path, key, userPath))
	}
	if trusted {
		return probs
	}
	refuse := func(key, value, why, instead string) {
		probs = append(probs, fmt.Sprintf(
			"project file %s: key %q%s %s; project files are not trusted (a cloned repository can ship one), so they may only tighten the policy. %s, or trust this project in %s: trusted_projects = [%q] (or trust_project_config = true for all)",
			path, prefix+key, value, why, instead, userPath, filepath.Dir(path)))
	}
	if s.Backend != nil {
		refuse(kBackend, " = "+quoteKey(*s.Backend), "would choose the backend", "Use --backend or SBX_BACKEND")
	}
	if s.Profile != nil {
		refuse(kProfile, " = "+quoteKey(*s.Profile), "would choose a profile", "Use --profile or SBX_PROFILE")
	}
	if s.Network != nil && *s.Network == string(core.NetworkAllow) {
		refuse(kNetwork, ` = "allow"`, "would allow the network", "Use --network=allow")
	}
	if len(s.WritableRoots) > 0 {
		refuse(kWritableRoots, " = "+fmt.Sprintf("%q", s.WritableRoots), "would make more directories writable", "Use --writable-root")
	}
	if s.DefaultProtect != nil && !*s.DefaultProtect {
		refuse(kDefaultProtect, " = false", "would unprotect .git, .sbx.toml and the other default names", "Use --no-default-protect")
	}
	if s.ReadOnly != nil && !*s.ReadOnly && *base.ReadOnly {
		refuse(kReadOnly, " = false", "would make the workspace writable", "Use --read-only=false")
	}
	if len(s.Read) > 0 && len(base.Read) > 0 {
		refuse(kRead, "", "would add readable paths to the user file's list", "Use --read")
	}
	if s.WritableTmp != nil && *s.WritableTmp && !*base.WritableTmp {
		refuse(kWritableTmp, " = true", "would make the temporary directories writable", "Use --no-tmp=false")
	}
	if s.EnvInherit != nil && *s.EnvInherit && !*base.EnvInherit {
		refuse(kEnvInherit, " = true", "would pass your whole environment to the command", "Use --clean-env=false")
	}
	if s.AllowAdvisory != nil && *s.AllowAdvisory {
		refuse(kAllowAdvisory, " = true", "would accept advisory enforcement", "Use --allow-advisory")
	}
	if s.BestEffort != nil && *s.BestEffort {
		refuse(kBestEffort, " = true", "would accept unenforced policy elements", "Use --best-effort")
	}
	if len(s.PluginDirs) > 0 {
		refuse(kPluginDirs, "", "would run plugin programs from the repository, outside the sandbox", "Add plugin directories in the user file or $SBX_PLUGIN_PATH")
	}
	if s.PluginChecksums != nil {
		refuse(kPluginChecksums, "", "would change which plugin binaries are accepted", "Pin plugins in the user file")
	}
	if s.PluginKeepAlive != nil {
		// Even "0" is refused: the key is not part of the policy, so
		// there is nothing for a project to tighten, and how long the
		// user's unsandboxed plugin agents live is the user's choice.
		refuse(kPluginKeepAlive, " = "+quoteKey(s.PluginKeepAlive.String()),
			"would decide how long plugin agents, which run outside the sandbox, stay up",
			"Set it in the user file or with SBX_PLUGIN_KEEPALIVE")
	}
	// Limits: a project may set or lower a limit, not raise or remove one.
	raised := func(newV, baseV float64) bool { return baseV > 0 && (newV == 0 || newV > baseV) }
	if s.Timeout != nil && raised(float64(*s.Timeout), float64(*base.Timeout)) {
		refuse(kTimeout, " = "+quoteKey(s.Timeout.String()), "would raise the user file's timeout "+base.Timeout.String(), "Use --timeout")
	}
	if s.Memory != nil && raised(float64(*s.Memory), float64(*base.Memory)) {
		refuse(kMemory, " = "+quoteKey(core.FormatBytes(*s.Memory)), "would raise the user file's memory limit "+core.FormatBytes(*base.Memory), "Use --memory")
	}
	if s.Pids != nil && raised(float64(*s.Pids), float64(*base.Pids)) {
		refuse(kPids, fmt.Sprintf(" = %d", *s.Pids), fmt.Sprintf("would raise the user file's process limit %d", *base.Pids), "Use --pids")
	}
	if s.CPU != nil && raised(*s.CPU, *base.CPU) {
		refuse(kCPU, fmt.Sprintf(" = %g", *s.CPU), fmt.Sprintf("would raise the user file's CPU limit %g", *base.CPU), "Use --cpu")
	}
	return probs
}

// envLayer reads the SBX_* variables through lookup (app.env.LookupEnv):
// the variable of each of envKeys (envVar) and nothing else; an empty
// variable counts as unset. The values are strings; they are parsed here, by
// values.go, strictly, like the other layers'. Lists of paths are separated
// by the OS path-list separator (":" or ";"), lists of names by commas;
// relative paths resolve against cwd.
//
// It reads the environment it is given, never the process's: the front-end
// agent (frontagent_linux.go) runs commands for clients whose environments
// differ from its own.
func envLayer(lookup func(string) (string, bool), cwd, home string) (layer, []string) {
	var s settings
	var probs []string
	get := func(key string) (string, bool) {
		v, ok := lookup(envVar(key))
		if !ok || v == "" {
			return "", false
		}
		return v, true
	}
	bad := func(key string, err error) {
		probs = append(probs, fmt.Sprintf("environment %s: %v", envVar(key), err))
	}
	if v, ok := get(kBackend); ok {
		s.Backend = &v
	}
	if v, ok := get(kProfile); ok {
		s.Profile = &v
	}
	scalar(&s.Network, kNetwork, get, parseNetwork, bad)
	paths := func(key string) []string {
		v, ok := get(key)
		if !ok {
			return nil
		}
		var out []string
		for _, p := range filepath.SplitList(v) {
			if p == "" {
				continue
			}
			abs, err := resolvePath(p, cwd, home)
			if err != nil {
				bad(key, err)
				continue
			}
			out = append(out, abs)
		}
		return out
	}
	names := func(key string) []string {
		v, ok := get(key)
		if !ok {
			return nil
		}
		var out []string
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
		return out
	}
	s.WritableRoots = paths(kWritableRoots)
	s.Read = paths(kRead)
	s.Protect = names(kProtect)
	s.EnvUnset = names(kEnvUnset)
	boolean := func(key string) *bool {
		v, ok := get(key)
		if !ok {
			return nil
		}
		b, err := parseBool(v)
		if err != nil {
			bad(key, err)
			return nil
		}
		return &b
	}
	s.DefaultProtect = boolean(kDefaultProtect)
	s.ReadOnly = boolean(kReadOnly)
	s.WritableTmp = boolean(kWritableTmp)
	s.EnvInherit = boolean(kEnvInherit)
	s.AllowAdvisory = boolean(kAllowAdvisory)
	s.BestEffort = boolean(kBestEffort)
	scalar(&s.Timeout, kTimeout, get, parseDuration, bad)
	scalar(&s.Memory, kMemory, get, parseSize, bad)
	scalar(&s.Pids, kPids, get, parsePids, bad)
	scalar(&s.CPU, kCPU, get, parseCPU, bad)
	scalar(&s.PluginKeepAlive, kPluginKeepAlive, get, parseKeepAlive, bad)
	return layer{s: s, origin: func(key string) string { return "env " + envVar(key) }}, probs
}

// envTypos returns a warning for each SBX_* variable in environ that is not
// one sbx knows but is close to one: a typo that would otherwise be
// silently ignored. Other SBX_* variables are left alone (plugins and test
// harnesses may use the prefix).
func envTypos(environ []string) []string {
	known := slices.Clone(otherEnv)
	for _, key := range envKeys {
		known = append(known, envVar(key))
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SBX_") || slices.Contains(known, name) {
			continue
		}
		if m := didYouMean(name, known); m != "" {
			out = append(out, fmt.Sprintf("warning: environment variable %s is not used by sbx (did you mean %s?)", name, m))
		}
	}
	slices.Sort(out)
	return out
}
