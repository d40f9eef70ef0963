package main

import (
	"sort"
	"strings"
	"time"
)

// settings is what one configuration layer (the defaults, a file, a
// profile, the environment or the flags) says. A nil pointer or nil
// slice/map means "this layer says nothing about that key". Values are
// already parsed and paths already absolute: every layer is converted to
// settings before layers are merged, so merging never fails.
type settings struct {
	Backend        *string
	Profile        *string
	Network        *string
	WritableRoots  []string
	Protect        []string
	DefaultProtect *bool
	ReadOnly       *bool
	Read           []string
	WritableTmp    *bool
	EnvInherit     *bool
	EnvSet         map[string]string
	EnvUnset       []string
	Timeout        *time.Duration
	Memory         *int64
	Pids           *int64
	CPU            *float64
	AllowAdvisory  *bool
	BestEffort     *bool
	// Only in files and (PluginKeepAlive) the environment; an untrusted
	// project file may set none of them.
	PluginDirs         []string
	PluginChecksums    map[string]string
	PluginKeepAlive    *time.Duration
	TrustProjectConfig *bool
	TrustedProjects    []string
}

// Configuration keys, as written in TOML files. envKeys and keyFlag below
// give the environment variable and flag of each key that has one.
const (
	kBackend         = "backend"
	kProfile         = "profile"
	kNetwork         = "network"
	kWritableRoots   = "writable_roots"
	kProtect         = "protect"
	kDefaultProtect  = "default_protect"
	kReadOnly        = "read_only"
	kRead            = "read"
	kWritableTmp     = "writable_tmp"
	kEnvInherit      = "env.inherit"
	kEnvSet          = "env.set"
	kEnvUnset        = "env.unset"
	kTimeout         = "timeout"
	kMemory          = "memory"
	kPids            = "pids"
	kCPU             = "cpu"
	kAllowAdvisory   = "allow_advisory"
	kBestEffort      = "best_effort"
	kPluginDirs      = "plugin_dirs"
	kPluginChecksums = "plugin_checksums"
	kPluginKeepAlive = "plugin_keepalive"
	kTrustProject    = "trust_project_config"
	kTrustedProjects = "trusted_projects"
	kProfiles        = "profiles"
)

// envKeys are the keys that have an SBX_* environment variable, named by
// envVar. Tables (env.set, plugin_checksums) and plugin_dirs have none:
// SBX_PLUGIN_PATH, read by the plugin host itself, is the environment's way
// to add plugin directories. plugin_keepalive has one
// (SBX_PLUGIN_KEEPALIVE) but no flag.
var envKeys = []string{
	kBackend, kProfile, kNetwork, kWritableRoots, kProtect, kDefaultProtect, kReadOnly, kRead,
	kWritableTmp, kEnvInherit, kEnvUnset, kTimeout, kMemory, kPids, kCPU, kAllowAdvisory, kBestEffort,
	kPluginKeepAlive,
}

// envPrefix and envKeyReplacer turn a key into its variable (envLayer):
// SBX_ + the key upper-cased, dots made underscores.
const envPrefix = "SBX"

var envKeyReplacer = strings.NewReplacer(".", "_")

// envVar returns the environment variable of key ("env.inherit" →
// "SBX_ENV_INHERIT"): the variable envLayer reads, and the name messages
// and origins give.
func envVar(key string) string {
	return envKeyReplacer.Replace(strings.ToUpper(envPrefix + "_" + key))
}

// otherEnv are SBX_* variables that are not configuration keys but are
// known, so that a typo check does not flag them.
var otherEnv = []string{"SBX_CONFIG", "SBX_PLUGIN_PATH", "SBX_PROBE", "SBX_FRONT", "SBX_FRONT_SOCKET"}

// policyKeys are the keys a profile may set (and the trust rules govern).
var policyKeys = []string{
	kBackend, kNetwork, kWritableRoots, kProtect, kDefaultProtect, kReadOnly, kRead,
	kWritableTmp, kEnvInherit, kEnvSet, kEnvUnset, kTimeout, kMemory, kPids, kCPU,
	kAllowAdvisory, kBestEffort,
}

// fileOnlyKeys are the keys a file may set besides the policy keys: they
// are not part of a run's policy, so a profile cannot set them.
var fileOnlyKeys = []string{kProfile, kPluginDirs, kPluginChecksums, kPluginKeepAlive, kTrustProject, kTrustedProjects, kProfiles}

// didYouMean returns the candidate closest to s when it is close enough to
// be a likely typo, or "".
func didYouMean(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(s) > 9 {
		limit = 3
	}
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// hintFor returns " (did you mean X?)" for s among candidates, or "".
func hintFor(s string, candidates []string) string {
	if m := didYouMean(s, candidates); m != "" {
		return " (did you mean " + quoteKey(m) + "?)"
	}
	return ""
}

func quoteKey(k string) string { return "\"" + k + "\"" }

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
