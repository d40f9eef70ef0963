package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

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
	return out
}

// resolveRootLinks replaces each writable root by the same directory named
// without symbolic links, so that every backend gets one link-free path
// (linux-namespaces cannot bind a path through an absolute link; Landlock
// would follow it anyway). A link is followed only where a sandboxed command
// cannot have planted it; the root is refused, naming the link and its
// target, when
//   - the root itself is a link: a grant of writes never follows a link;
//   - a link on the way to it lies in a directory the sandbox may write (the
//     workspace, a writable root, a writable temporary directory in tmpDirs):
//     a command of an earlier run could have replaced it to point elsewhere.
//
// Links elsewhere on the way (/home -> /var/home, ~/.cache -> /data/cache)
// are resolved. Roots that do not exist are left for Validate to report.
func (cfg *config) resolveRootLinks(tmpDirs []string) []string {
	// Where a sandboxed command may write, under both spellings of each
	// place that is itself reached through links.
	var places []string
	for _, w := range append(append([]string{cfg.Policy.Workspace}, cfg.Policy.WritableRoots...), tmpDirs...) {
		places = append(places, w)
		if r, err := filepath.EvalSymlinks(w); err == nil && r != w {
			places = append(places, r)
		}
	}
	var out []string
	refuse := func(i int, r, reason string) {
		out = append(out, cfg.describeProblem(core.Problem{Field: fmt.Sprintf("writable_roots[%d]", i), Value: r, Reason: reason}))
	}
	for i, r := range cfg.Policy.WritableRoots {
		fi, err := os.Lstat(r)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			refuse(i, r, fmt.Sprintf("is a symbolic link to %s: sbx does not follow a link to grant writes (a sandboxed command could have replaced it); name the directory itself", linkTarget(r)))
			continue
		}
		real, link, err := resolvePlantSafe(r, places)
		switch {
		case err != nil:
			continue // Validate reports a root that cannot be resolved
		case link != "":
			refuse(i, r, fmt.Sprintf("is reached through the symbolic link %s (to %s), which lies where a sandboxed command may write and could have replaced it; name the directory itself", link, linkTarget(link)))
			continue
		}
		cfg.Policy.WritableRoots[i] = real
	}
	return out
}

// resolvePlantSafe resolves path as filepath.EvalSymlinks does, one
// component at a time, and stops at the first symbolic link it meets —
// on path itself or inside the target of an earlier link — that lies in one
// of places (where a sandboxed command could have planted it): link is
// then that link. On Windows it is filepath.EvalSymlinks (creating a link
// there needs a privilege a sandboxed command does not have).
func resolvePlantSafe(path string, places []string) (real, link string, err error) {
	if runtime.GOOS == "windows" {
		real, err = filepath.EvalSymlinks(path)
		return real, "", err
	}
	real, missing, link, err := core.WalkLinks(path, func(_, dir string) bool { return underAny(dir, places) })
	if err == nil && missing {
		err = &os.PathError{Op: "resolve", Path: path, Err: fs.ErrNotExist}
	}
	return real, link, err
}

// linkTarget is where the link at path leads, for messages.
func linkTarget(path string) string {
	if t, err := filepath.EvalSymlinks(path); err == nil {
		return t
	}
	return "a path that does not resolve"
}

// loadFor loads the configuration for cmd: files, environment and the
// flags cmd has, after warning about mistyped SBX_* variables (which would
// otherwise be ignored without a word). It does not check the policy against
// the file system; commands that do not run anything (backends, setup) use
// it directly. With an error it may still return the configuration built
// from the valid values (see loadConfig), for resolvePolicy to add the
// policy's own problems; other callers must not use it.
func (a *app) loadFor(cmd *cobra.Command) (*config, error) {
	a.warnEnvTypos()
	return a.loadQuietly(cmd)
}

// loadQuietly is loadFor without the warnings, for shell completion, whose
// output is the completion itself.
func (a *app) loadQuietly(cmd *cobra.Command) (*config, error) {
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
	if cfg != nil {
		var tmp []string
		if cfg.Policy.WritableTmp {
			tmp = core.UnixTmpDirs(func(k string) string { v, _ := a.env.LookupEnv(k); return v })
		}
		probs = append(probs, cfg.resolveRootLinks(tmp)...)
	}
	if len(probs) > 0 {
		return cfg, &configError{Problems: probs}
	}
	return cfg, nil
}

// statDir is the core.PathChecker of the real file system. It follows
// symbolic links; resolveRootLinks has already refused the roots that are
// links, and replaced the others by their link-free paths.
func statDir(path string) (exists, isDir bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, false
	}
	return true, fi.IsDir()
}
