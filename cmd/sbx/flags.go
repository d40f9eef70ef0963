package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

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
}

// addPolicyFlags defines the flags that shape a policy on cmd (run,
// explain, config, and later compare and conformance). Pair it with
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

// flagLayer turns the flags the user gave into a layer. Flags that cmd
// does not define are skipped, so it works for commands with only
// --backend. Relative paths resolve against cwd; a quoted "~/..." (which
// the shell did not expand) against home.
func flagLayer(cmd *cobra.Command, cwd, home string) (layer, []string) {
	var s settings
	var probs []string
	f := cmd.Flags()
	changed := func(name string) bool { return f.Lookup(name) != nil && f.Changed(name) }
	bad := func(name string, err error) { probs = append(probs, fmt.Sprintf("flag --%s: %v", name, err)) }
	str := func(name string) string { v, _ := f.GetString(name); return v }
	arr := func(name string) []string { v, _ := f.GetStringArray(name); return v }
	boolean := func(name string, invert bool) *bool {
		if !changed(name) {
			return nil
		}
		v, _ := f.GetBool(name)
		v = v != invert
		return &v
	}

	if changed(fBackend) {
		v := str(fBackend)
		if v == "" {
			bad(fBackend, errors.New("empty backend name; see `sbx backends`"))
		} else {
			s.Backend = &v
		}
	}
	if changed(fNetwork) {
		if v, err := parseNetwork(str(fNetwork)); err != nil {
			bad(fNetwork, err)
		} else {
			s.Network = &v
		}
	}
	paths := func(name string) []string {
		var out []string
		for _, p := range arr(name) {
			abs, err := resolvePath(p, cwd, home)
			if err != nil {
				bad(name, err)
				continue
			}
			out = append(out, abs)
		}
		return out
	}
	if changed(fWritableRoot) {
		s.WritableRoots = paths(fWritableRoot)
	}
	if changed(fRead) {
		s.Read = paths(fRead)
	}
	if changed(fProtect) {
		s.Protect = arr(fProtect)
	}
	s.DefaultProtect = boolean(fNoDefaultProtect, true)
	s.ReadOnly = boolean(fReadOnly, false)
	s.WritableTmp = boolean(fNoTmp, true)
	s.EnvInherit = boolean(fCleanEnv, true)
	s.AllowAdvisory = boolean(fAllowAdvisory, false)
	s.BestEffort = boolean(fBestEffort, false)
	if changed(fEnv) {
		s.EnvSet = map[string]string{}
		for _, kv := range arr(fEnv) {
			k, v, err := parseEnvAssignment(kv)
			if err != nil {
				bad(fEnv, err)
				continue
			}
			s.EnvSet[k] = v
		}
	}
	if changed(fUnsetEnv) {
		s.EnvUnset = arr(fUnsetEnv)
	}
	if changed(fTimeout) {
		if d, err := parseDuration(str(fTimeout)); err != nil {
			bad(fTimeout, err)
		} else {
			s.Timeout = &d
		}
	}
	if changed(fMemory) {
		if n, err := parseSize(str(fMemory)); err != nil {
			bad(fMemory, err)
		} else {
			s.Memory = &n
		}
	}
	if changed(fPids) {
		if n, err := parsePids(str(fPids)); err != nil {
			bad(fPids, err)
		} else {
			s.Pids = &n
		}
	}
	if changed(fCPU) {
		if v, err := parseCPU(str(fCPU)); err != nil {
			bad(fCPU, err)
		} else {
			s.CPU = &v
		}
	}
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
	err := cfg.Policy.Validate(filepath.IsAbs, statDir)
	if err == nil {
		return nil
	}
	var pe *core.PolicyError
	if !errors.As(err, &pe) {
		return []string{err.Error()}
	}
	out := make([]string, 0, len(pe.Problems))
	for _, pr := range pe.Problems {
		out = append(out, cfg.describeProblem(pr))
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
	in := loadInput{Cwd: cwd, Workspace: cwd, WorkspaceOrigin: "current directory"}
	var probs []string
	if f := cmd.Flags().Lookup(fCwd); f != nil && f.Changed {
		ws, err := resolvePath(f.Value.String(), cwd, home)
		if err != nil {
			probs = append(probs, fmt.Sprintf("flag --%s: %v", fCwd, err))
		} else {
			in.Workspace, in.WorkspaceOrigin = ws, "flag --"+fCwd
		}
	}
	if f := cmd.Flags().Lookup(fProfile); f != nil && f.Changed {
		in.ProfileFlag = f.Value.String()
		if in.ProfileFlag == "" {
			probs = append(probs, "flag --profile: empty profile name")
		}
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
