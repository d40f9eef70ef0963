package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/sbxdev/sbx/core"
)

// Flag names of the policy flags. Every flag that sets a configuration key
// is listed in keyFlag, so origins and messages can name it.
const (
	fBackend          = "backend"
	fNetwork          = "network"
	fWritableRoot     = "writable-root"
	fProtect          = "protect"
	fNoDefaultProtect = "no-default-protect"
	fReadOnly         = "read-only"
	fRead             = "read"
	fNoTmp            = "no-tmp"
	fEnv              = "env"
	fUnsetEnv         = "unset-env"
	fCleanEnv         = "clean-env"
	fTimeout          = "timeout"
	fMemory           = "memory"
	fPids             = "pids"
	fCPU              = "cpu"
	fAllowAdvisory    = "allow-advisory"
	fBestEffort       = "best-effort"
	fProfile          = "profile"
	fCwd              = "cwd"
)

// keyFlag maps configuration keys to the flag that sets them.
var keyFlag = map[string]string{
	kBackend:        fBackend,
	kNetwork:        fNetwork,
	kWritableRoots:  fWritableRoot,
	kProtect:        fProtect,
	kDefaultProtect: fNoDefaultProtect,
	kReadOnly:       fReadOnly,
	kRead:           fRead,
	kWritableTmp:    fNoTmp,
	kEnvSet:         fEnv,
	kEnvUnset:       fUnsetEnv,
	kEnvInherit:     fCleanEnv,
	kTimeout:        fTimeout,
	kMemory:         fMemory,
	kPids:           fPids,
	kCPU:            fCPU,
	kAllowAdvisory:  fAllowAdvisory,
	kBestEffort:     fBestEffort,
	kProfile:        fProfile,
}

// addPolicyFlags defines the flags that shape a policy on cmd (run,
// explain, config and compare). Pair it with
// (*app).resolvePolicy. Values are parsed by resolvePolicy, not by pflag,
// so that every bad value is reported at once with the same wording as in
// files and the environment.
func addPolicyFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String(fNetwork, "", "network access `MODE`: deny or allow (default deny)")
	f.StringArray(fWritableRoot, nil, "also let the command write in `DIR` (repeatable; must exist)")
	f.StringArray(fProtect, nil, "keep the file `NAME` read-only inside every writable root, in addition to .git, .sbx.toml, .sbx, .codex, .agents (repeatable)")
	f.Bool(fNoDefaultProtect, false, "do not protect the default names (.git, .sbx.toml, .sbx, .codex, .agents)")
	f.Bool(fReadOnly, false, "make nothing writable, not even the workspace (temporary directories stay writable unless --no-tmp)")
	f.StringArray(fRead, nil, "restrict reads to `PATH`, the writable roots and what programs need to run (repeatable)")
	f.Bool(fNoTmp, false, "do not make /tmp and $TMPDIR writable")
	f.StringArray(fEnv, nil, "set `NAME=VALUE` in the command's environment (repeatable)")
	f.StringArray(fUnsetEnv, nil, "remove `NAME` from the command's environment (repeatable)")
	f.Bool(fCleanEnv, false, "start the command with an empty environment (then --env applies)")
	f.String(fTimeout, "", "kill the whole process tree after `DURATION` (e.g. 30s, 5m; exit status 124)")
	f.String(fMemory, "", "cap the memory of the process tree at `SIZE` (e.g. 512M, 2G)")
	f.String(fPids, "", "cap the number of processes and threads at `N`")
	f.String(fCPU, "", "cap CPU use at `CORES` (e.g. 1.5)")
	f.Bool(fAllowAdvisory, false, "run even if the backend holds some of the policy only advisorily")
	f.Bool(fBestEffort, false, "run even if the backend cannot hold some of the policy at all")
	f.String(fProfile, "", "apply the configuration profile `NAME` ([profiles.NAME] in a config file)")
	f.String(fCwd, "", "use `DIR` as the workspace and working directory (default: the current directory)")
	_ = cmd.RegisterFlagCompletionFunc(fNetwork, cobra.FixedCompletions([]string{"deny", "allow"}, cobra.ShellCompDirectiveNoFileComp))
	for _, name := range []string{fWritableRoot, fRead, fCwd} {
		_ = cmd.MarkFlagDirname(name)
	}
}

// flagLayer turns the flags the user gave into a layer. Each flag of
// keyFlag that cmd defines is bound to its key in a viper (BindPFlag), and
// viper says whether the user gave it (IsSet: the pflag's Changed, so a
// flag's default never counts as set) and what it says. Flags that cmd does
// not define are skipped, so it works for commands with only --backend.
// The values are parsed here, by values.go, like the other layers'.
// Relative paths resolve against cwd; a quoted "~/..." (which the shell did
// not expand) against home.
func flagLayer(cmd *cobra.Command, cwd, home string) (layer, []string) {
	f := cmd.Flags()
	given := viper.New()
	for key, name := range keyFlag {
		if fl := f.Lookup(name); fl != nil {
			// BindPFlag fails only for a nil flag.
			_ = given.BindPFlag(key, fl)
		}
	}
	var s settings
	var probs []string
	changed := func(key string) bool { return given.IsSet(key) }
	bad := func(key string, err error) { probs = append(probs, fmt.Sprintf("flag --%s: %v", keyFlag[key], err)) }
	str := func(key string) string { return given.GetString(key) }
	// get is the flag's text when the user gave it, for scalar.
	get := func(key string) (string, bool) { return str(key), changed(key) }
	// The elements of a repeatable flag come from the flag's value itself
	// (pflag.SliceValue), exactly as given. Both viper.Get and pflag's
	// GetStringArray hand a string array over as one CSV line and split
	// it back, which drops a lone empty element (--writable-root "" would
	// be silently ignored instead of refused) and turns \r\n into \n
	// inside a value.
	arr := func(key string) []string {
		if sv, ok := f.Lookup(keyFlag[key]).Value.(pflag.SliceValue); ok {
			return sv.GetSlice()
		}
		return nil
	}
	boolean := func(key string, invert bool) *bool {
		if !changed(key) {
			return nil
		}
		b := given.GetBool(key) != invert
		return &b
	}

	if changed(kBackend) {
		b := str(kBackend)
		if b == "" {
			bad(kBackend, errors.New("empty backend name; see `sbx backends`"))
		} else {
			s.Backend = &b
		}
	}
	if changed(kProfile) {
		if p := str(kProfile); p == "" {
			bad(kProfile, errors.New("empty profile name"))
		} else {
			s.Profile = &p
		}
	}
	scalar(&s.Network, kNetwork, get, parseNetwork, bad)
	paths := func(key string) []string {
		var out []string
		for _, p := range arr(key) {
			abs, err := resolvePath(p, cwd, home)
			if err != nil {
				bad(key, err)
				continue
			}
			out = append(out, abs)
		}
		return out
	}
	if changed(kWritableRoots) {
		s.WritableRoots = paths(kWritableRoots)
	}
	if changed(kRead) {
		s.Read = paths(kRead)
	}
	if changed(kProtect) {
		s.Protect = arr(kProtect)
	}
	s.DefaultProtect = boolean(kDefaultProtect, true) // --no-default-protect
	s.ReadOnly = boolean(kReadOnly, false)
	s.WritableTmp = boolean(kWritableTmp, true) // --no-tmp
	s.EnvInherit = boolean(kEnvInherit, true)   // --clean-env
	s.AllowAdvisory = boolean(kAllowAdvisory, false)
	s.BestEffort = boolean(kBestEffort, false)
	if changed(kEnvSet) {
		s.EnvSet = map[string]string{}
		for _, kv := range arr(kEnvSet) {
			k, val, err := parseEnvAssignment(kv)
			if err != nil {
				bad(kEnvSet, err)
				continue
			}
			s.EnvSet[k] = val
		}
	}
	if changed(kEnvUnset) {
		s.EnvUnset = arr(kEnvUnset)
	}
	scalar(&s.Timeout, kTimeout, get, parseDuration, bad)
	scalar(&s.Memory, kMemory, get, parseSize, bad)
	scalar(&s.Pids, kPids, get, parsePids, bad)
	scalar(&s.CPU, kCPU, get, parseCPU, bad)
	return layer{s: s, origin: func(key string) string { return "flag --" + keyFlag[key] }}, probs
}

// resolvePolicy is what every command that takes the policy flags calls:
// it reads the configuration files and the environment, applies the flags
// of cmd (see addPolicyFlags), and validates the resulting policy against
// the file system (writable roots must exist). All problems are reported
// at once, as a *configError, each naming the flag, variable or file and
// key it came from.
//
// The returned config holds the policy (cfg.Policy), the acceptance
// (cfg.Accept), the backend name and the origin of every value.
func (a *app) resolvePolicy(cmd *cobra.Command) (*config, error) {
	cfg, err := a.loadFor(cmd)
	if cfg == nil {
		return nil, err
	}
	var probs []string
	if err != nil {
		probs = problemsOf(err)
	}
	probs = append(probs, cfg.policyProblems()...)
	if len(probs) > 0 {
		return nil, &configError{Problems: probs}
	}
	return cfg, nil
}

// policyProblems validates cfg.Policy against the file system and words
// each problem with the origin of the bad value.
func (cfg *config) policyProblems() []string {
	var out []string
	if err := cfg.Policy.Validate(filepath.IsAbs, statDir); err != nil {
		var pe *core.PolicyError
		if !errors.As(err, &pe) {
			return []string{err.Error()}
		}
		for _, pr := range pe.Problems {
			out = append(out, cfg.describeProblem(pr))
		}
	}
	return append(out, cfg.linkProblems()...)
}

// linkProblems reports writable roots that are symbolic links. They are not
// followed: a root is a grant of writes, and a link inside a directory a
// sandboxed command could write to may have been replaced to point
// elsewhere (the backends refuse such a root too, with a less helpful
// word).
func (cfg *config) linkProblems() []string {
	var out []string
	for i, r := range cfg.Policy.WritableRoots {
		fi, err := os.Lstat(r)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		target, err := filepath.EvalSymlinks(r)
		if err != nil {
			target = "a path that does not resolve"
		}
		out = append(out, cfg.describeProblem(core.Problem{
			Field: fmt.Sprintf("writable_roots[%d]", i), Value: r,
			Reason: fmt.Sprintf("is a symbolic link to %s: sbx does not follow a link to grant writes (a sandboxed command could have replaced it); name the directory itself", target),
		}))
	}
	return out
}

// loadFor loads the configuration for cmd: files, environment and the
// flags cmd has. It does not check the policy against the file system;
// commands that do not run anything (backends, setup) use it directly.
// With an error it may still return the configuration built from the
// valid values (see loadConfig), for resolvePolicy to add the policy's own
// problems; other callers must not use it.
func (a *app) loadFor(cmd *cobra.Command) (*config, error) {
	cwd, err := a.env.Getwd()
	if err != nil {
		return nil, fmt.Errorf("cannot find the current directory: %w", err)
	}
	home := a.home()
	in := loadInput{Cwd: cwd, LookupEnv: a.env.LookupEnv, Workspace: cwd, WorkspaceOrigin: "current directory"}
	var probs []string
	if f := cmd.Flags().Lookup(fCwd); f != nil && f.Changed {
		ws, err := resolvePath(f.Value.String(), cwd, home)
		if err != nil {
			probs = append(probs, fmt.Sprintf("flag --%s: %v", fCwd, err))
		} else {
			in.Workspace, in.WorkspaceOrigin = ws, "flag --"+fCwd
		}
	}
	// The workspace is the directory the command runs in, under the name
	// with no symbolic link in it: where a shell's logical path went
	// through a link (cd ~/proj, ~/proj -> /data/proj), backends that do
	// not follow a final link would otherwise refuse it. Relative paths in
	// flags and variables still resolve against the logical directory, as
	// the user typed them.
	if real, err := filepath.EvalSymlinks(in.Workspace); err == nil {
		in.Workspace = real
	}
	var flagProbs []string
	in.Flags, flagProbs = flagLayer(cmd, cwd, home)
	probs = append(probs, flagProbs...)
	cfg, err := a.loadConfig(in)
	if err != nil {
		probs = append(probs, problemsOf(err)...)
	}
	if len(probs) > 0 {
		return cfg, &configError{Problems: probs}
	}
	return cfg, nil
}

// statDir is the core.PathChecker of the real file system. It follows
// symbolic links: a writable root may be a link to a directory.
func statDir(path string) (exists, isDir bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, false
	}
	return true, fi.IsDir()
}
