package core

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultProtectedNames are the names that stay read-only inside every
// writable root unless the policy says otherwise. A sandboxed command must
// never be able to rewrite its own next policy (.sbx.toml, .sbx) or the
// repository metadata that hooks and config live in (.git), nor the
// configuration of the agents that launch it (.codex, .agents).
var DefaultProtectedNames = []string{".git", ".sbx.toml", ".sbx", ".codex", ".agents"}

// ReadMode says which parts of the file system a sandboxed command may read.
type ReadMode string

const (
	// ReadAll lets the command read everything its user can read.
	ReadAll ReadMode = "all"
	// ReadRestricted lets the command read only the listed paths, the
	// writable roots, and what programs need to run (system libraries,
	// executables, locale and certificate data: see [Policy.Read]).
	ReadRestricted ReadMode = "restricted"
)

// NetworkMode says whether a sandboxed command may use the network.
type NetworkMode string

const (
	// NetworkDeny refuses every network connection, loopback included.
	// Unix domain sockets (local IPC) are not network.
	NetworkDeny NetworkMode = "deny"
	// NetworkAllow leaves the network as the user has it.
	NetworkAllow NetworkMode = "allow"
)

// Policy is what a sandboxed command may do. Every backend receives the same
// Policy; how strongly it can enforce each part is reported in a [Report].
//
// The zero value is not valid: start from [DefaultPolicy] and use
// [Policy.Validate] after changing it.
type Policy struct {
	// Workspace is the absolute path of the directory the command works in.
	// Unless ReadOnly is set it is writable.
	Workspace string `json:"workspace"`
	// WritableRoots are further absolute directories the command may write.
	WritableRoots []string `json:"writable_roots,omitempty"`
	// ReadOnly removes every writable root, the workspace included.
	// Temporary directories stay writable if WritableTmp is set.
	ReadOnly bool `json:"read_only,omitempty"`
	// Protected are file names (not paths) that stay read-only directly
	// inside every writable root (root/.git, root/.sbx.toml), including when
	// they do not exist yet: creating them is refused too. A ".git" file
	// that points at a git directory elsewhere protects that directory as
	// well (see [ResolveProtected]).
	Protected []string `json:"protected"`
	// Read says what the command may read.
	Read ReadPolicy `json:"read"`
	// WritableTmp makes /tmp and $TMPDIR (on Windows %TEMP%) writable.
	WritableTmp bool `json:"writable_tmp"`
	// Network says whether the command may use the network.
	Network NetworkPolicy `json:"network"`
	// Env shapes the command's environment.
	Env EnvPolicy `json:"env"`
	// Limits bounds the command's resources.
	Limits Limits `json:"limits"`
}

// ReadPolicy says what a sandboxed command may read.
type ReadPolicy struct {
	// Mode is ReadAll or ReadRestricted.
	Mode ReadMode `json:"mode"`
	// Paths are the absolute paths readable when Mode is ReadRestricted, in
	// addition to the writable roots and the platform's runtime paths.
	Paths []string `json:"paths,omitempty"`
}

// NetworkPolicy says whether a sandboxed command may use the network.
type NetworkPolicy struct {
	// Mode is NetworkDeny or NetworkAllow.
	Mode NetworkMode `json:"mode"`
	// AllowHosts is reserved for a host allow-list enforced through a proxy.
	// No backend implements it yet, so Validate rejects a non-empty list.
	AllowHosts []string `json:"allow_hosts,omitempty"`
}

// EnvPolicy shapes a sandboxed command's environment. Unset is applied after
// inheritance and before Set.
type EnvPolicy struct {
	// Inherit passes the caller's environment to the command.
	Inherit bool `json:"inherit"`
	// Set adds or replaces variables.
	Set map[string]string `json:"set,omitempty"`
	// Unset removes variables (exact names).
	Unset []string `json:"unset,omitempty"`
}

// Limits bounds a sandboxed command's resources. Zero means "no limit".
type Limits struct {
	// Timeout is the wall-clock time after which the whole process tree is
	// killed.
	Timeout time.Duration `json:"timeout,omitempty"`
	// MemoryBytes caps the memory of the whole process tree.
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// Pids caps the number of processes (and threads) in the tree.
	Pids int64 `json:"pids,omitempty"`
	// CPU caps CPU use in cores (1.5 means one and a half cores).
	CPU float64 `json:"cpu,omitempty"`
}

// DefaultPolicy returns the policy sbx applies when nothing else is said: the
// workspace writable, protected names read-only, everything readable, the
// temporary directories writable, the network denied, the environment
// inherited, and no limits.
func DefaultPolicy(workspace string) Policy {
	return Policy{
		Workspace:   workspace,
		Protected:   append([]string(nil), DefaultProtectedNames...),
		Read:        ReadPolicy{Mode: ReadAll},
		WritableTmp: true,
		Network:     NetworkPolicy{Mode: NetworkDeny},
		Env:         EnvPolicy{Inherit: true},
	}
}

// Clone returns a deep copy of p.
func (p Policy) Clone() Policy {
	c := p
	c.WritableRoots = append([]string(nil), p.WritableRoots...)
	c.Protected = append([]string(nil), p.Protected...)
	c.Read.Paths = append([]string(nil), p.Read.Paths...)
	c.Network.AllowHosts = append([]string(nil), p.Network.AllowHosts...)
	c.Env.Unset = append([]string(nil), p.Env.Unset...)
	if p.Env.Set != nil {
		c.Env.Set = make(map[string]string, len(p.Env.Set))
		for k, v := range p.Env.Set {
			c.Env.Set[k] = v
		}
	}
	return c
}

// WritePaths returns the directories the command may write, workspace first,
// without duplicates. It is empty when ReadOnly is set. Temporary directories
// are not included: they depend on the platform.
func (p Policy) WritePaths() []string {
	if p.ReadOnly {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range append([]string{p.Workspace}, p.WritableRoots...) {
		r = filepath.Clean(r)
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	return out
}

// Problem is one thing wrong with a policy: the field, the bad value and
// what is wrong with it.
type Problem struct {
	Field  string `json:"field"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// String is "field = \"value\": reason" (without the value when empty).
func (p Problem) String() string {
	if p.Value == "" {
		return fmt.Sprintf("%s: %s", p.Field, p.Reason)
	}
	return fmt.Sprintf("%s = %q: %s", p.Field, p.Value, p.Reason)
}

// PathChecker tells whether an absolute path exists and is a directory.
// Validate uses it so that tests can validate policies against a fake file
// system; [OSPathChecker] in the host packages checks the real one.
type PathChecker func(path string) (exists, isDir bool)

// Validate checks p and returns every problem at once as a *PolicyError
// (which matches [ErrInvalidPolicy]), or nil. isAbs decides what an absolute
// path is on the platform the policy is for (filepath.IsAbs of the caller's
// OS when nil); stat, when non-nil, is used to require that writable roots
// and the workspace exist and are directories.
func (p Policy) Validate(isAbs func(string) bool, stat PathChecker) error {
	if isAbs == nil {
		isAbs = filepath.IsAbs
	}
	var probs []Problem
	add := func(field, value, reason string) {
		probs = append(probs, Problem{Field: field, Value: value, Reason: reason})
	}
	checkDir := func(field, path string) {
		switch {
		case path == "":
			add(field, path, "must not be empty")
		case !isAbs(path):
			add(field, path, "must be an absolute path")
		case stat != nil:
			if ok, dir := stat(path); !ok {
				add(field, path, "does not exist")
			} else if !dir {
				add(field, path, "is not a directory")
			}
		}
	}
	checkDir("workspace", p.Workspace)
	for i, r := range p.WritableRoots {
		checkDir(fmt.Sprintf("writable_roots[%d]", i), r)
	}
	for i, n := range p.Protected {
		field := fmt.Sprintf("protected[%d]", i)
		switch {
		case n == "" || n == "." || n == "..":
			add(field, n, "must be a file name")
		case strings.ContainsAny(n, `/\`):
			add(field, n, "must be a single file name, not a path")
		case strings.ContainsRune(n, 0):
			add(field, n, "must not contain NUL")
		}
	}
	switch p.Read.Mode {
	case ReadAll:
		if len(p.Read.Paths) > 0 {
			add("read.paths", strings.Join(p.Read.Paths, ","), "only meaningful with read.mode = \"restricted\"")
		}
	case ReadRestricted:
		for i, r := range p.Read.Paths {
			if !isAbs(r) {
				add(fmt.Sprintf("read.paths[%d]", i), r, "must be an absolute path")
			}
		}
	default:
		add("read.mode", string(p.Read.Mode), `must be "all" or "restricted"`)
	}
	switch p.Network.Mode {
	case NetworkDeny, NetworkAllow:
	default:
		add("network.mode", string(p.Network.Mode), `must be "deny" or "allow"`)
	}
	if len(p.Network.AllowHosts) > 0 {
		add("network.allow_hosts", strings.Join(p.Network.AllowHosts, ","), "host allow-lists are not implemented yet; use network = \"allow\" or \"deny\"")
	}
	for k := range p.Env.Set {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			add("env.set", k, "variable names must be non-empty and contain no '=' or NUL")
		}
	}
	for i, k := range p.Env.Unset {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			add(fmt.Sprintf("env.unset[%d]", i), k, "variable names must be non-empty and contain no '=' or NUL")
		}
	}
	if p.Limits.Timeout < 0 {
		add("limits.timeout", p.Limits.Timeout.String(), "must not be negative")
	}
	if p.Limits.MemoryBytes < 0 {
		add("limits.memory", fmt.Sprint(p.Limits.MemoryBytes), "must not be negative")
	} else if p.Limits.MemoryBytes > 0 && p.Limits.MemoryBytes < 1<<20 {
		add("limits.memory", fmt.Sprint(p.Limits.MemoryBytes), "must be at least 1MiB")
	}
	if p.Limits.Pids < 0 {
		add("limits.pids", fmt.Sprint(p.Limits.Pids), "must not be negative")
	}
	if p.Limits.CPU < 0 {
		add("limits.cpu", fmt.Sprint(p.Limits.CPU), "must not be negative")
	}
	if len(probs) == 0 {
		return nil
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Field < probs[j].Field })
	return &PolicyError{Problems: probs}
}
