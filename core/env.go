package core

import (
	"path"
	"sort"
	"strings"
)

// BuildEnv applies e to the caller's environment base ("K=V" entries) and
// returns the command's environment, sorted by name. extra entries (set by
// the backend, for example advisory proxy variables) are applied after
// Unset and before e.Set, so the policy has the last word.
func BuildEnv(base []string, e EnvPolicy, extra map[string]string) []string {
	m := map[string]string{}
	if e.Inherit {
		for _, kv := range base {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				continue
			}
			m[k] = v
		}
	}
	for _, k := range e.Unset {
		delete(m, k)
	}
	for k, v := range extra {
		m[k] = v
	}
	for k, v := range e.Set {
		m[k] = v
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// LookupEnv returns the value of key in env ("K=V" entries), the last one
// winning, and whether it was there.
func LookupEnv(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

// UnixTmpDirs are the temporary directories a policy's WritableTmp makes
// writable on Linux and other Unix systems: /tmp, and $TMPDIR (read with
// getenv) when it is another absolute directory. Backends pass them to
// [Requested]; one definition keeps every backend's "temporary directories"
// the same. (macOS resolves its own; on Windows it is %TEMP%.)
func UnixTmpDirs(getenv func(string) string) []string {
	out := []string{"/tmp"}
	if t := getenv("TMPDIR"); t != "" && path.IsAbs(t) && path.Clean(t) != "/tmp" {
		out = append(out, path.Clean(t))
	}
	return out
}
