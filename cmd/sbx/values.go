package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sbxdev/sbx/core"
)

// The parsers below are shared by every layer (files, environment, flags),
// so a value means the same thing wherever it is written and a bad value
// gets the same explanation. Each returns a message without the "where"
// (the caller adds the file and key, the variable or the flag).

// scalar reads one scalar key of a layer that holds its values as text
// (the environment, the flags): when get says the layer sets key, the text
// is parsed with parse and *dst points to the result, or the error goes to
// bad and *dst is left nil.
func scalar[T any](dst **T, key string, get func(key string) (string, bool), parse func(string) (T, error), bad func(key string, err error)) {
	v, ok := get(key)
	if !ok {
		return
	}
	x, err := parse(v)
	if err != nil {
		bad(key, err)
		return
	}
	*dst = &x
}

// parseNetwork checks a network mode.
func parseNetwork(s string) (string, error) {
	switch s {
	case string(core.NetworkDeny), string(core.NetworkAllow):
		return s, nil
	}
	return "", fmt.Errorf("%q is not a network mode; want \"deny\" or \"allow\"%s",
		s, hintFor(s, []string{"deny", "allow"}))
}

// parseDuration parses a timeout such as "30s", "5m" or "1h30m"; "0" means
// no timeout.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; want a number with a unit, e.g. \"30s\", \"5m\", \"1h30m\" (0 = no timeout)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: a timeout must not be negative", s)
	}
	return d, nil
}

// parseKeepAlive parses plugin_keepalive: how long a plugin agent stays
// up without calls, such as "5m" or "90s"; "0" turns agents off.
func parseKeepAlive(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; want a number with a unit, e.g. \"5m\" or \"90s\" (\"0\" turns plugin agents off)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: the plugin keep-alive must not be negative (\"0\" turns plugin agents off)", s)
	}
	return d, nil
}

// parseSize parses a memory size such as "512M" or "2GiB"; "0" means no
// limit.
func parseSize(s string) (int64, error) {
	n, err := core.ParseBytes(s)
	if err != nil {
		return 0, err
	}
	if n > 0 && n < 1<<20 {
		return 0, fmt.Errorf("size %q: a memory limit must be at least 1MiB (or 0 for no limit)", s)
	}
	return n, nil
}

// parsePids parses a process-count limit; "0" means no limit.
func parsePids(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a process count; want a whole number ≥ 0 (0 = no limit)", s)
	}
	return n, nil
}

// parseCPU parses a CPU limit in cores ("1.5"); "0" means no limit.
func parseCPU(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < 0 || f != f || f > 1e6 {
		return 0, fmt.Errorf("%q is not a CPU limit; want a number of cores ≥ 0, e.g. \"1.5\" (0 = no limit)", s)
	}
	return f, nil
}

// parseBool parses a boolean from the environment ("1", "true", "0",
// "false", ...).
func parseBool(s string) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Errorf("%q is not a boolean; want \"true\" or \"false\"", s)
	}
	return b, nil
}

// parseChecksum checks a hex SHA-256.
func parseChecksum(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if len(t) != 64 || strings.Trim(t, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%q is not a SHA-256; want 64 hex digits (sha256sum PLUGIN)", s)
	}
	return t, nil
}

// parseEnvAssignment splits a "K=V" of --env.
func parseEnvAssignment(s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("%q: want NAME=VALUE", s)
	}
	return k, v, nil
}

// resolvePath makes p absolute: "~" and "~/..." expand to home, a relative
// path is joined to base. It returns an error for an empty path, or for a
// "~" path when the home directory is unknown.
func resolvePath(p, base, home string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("empty path")
	case p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`):
		if home == "" {
			return "", fmt.Errorf("%q: cannot expand ~: the home directory is not known ($HOME unset)", p)
		}
		return filepath.Join(home, p[1:]), nil
	case filepath.IsAbs(p):
		return filepath.Clean(p), nil
	default:
		return filepath.Join(base, p), nil
	}
}
