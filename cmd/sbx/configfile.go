package main

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	toml "github.com/pelletier/go-toml/v2"
	"github.com/spf13/viper"

	"github.com/sbxdev/sbx/core"
)

// The TOML shape of a configuration file. The same structs serve two
// decoders, through the one set of `toml` tags:
//
//   - viper reads the file (ReadConfig, TOML) and decodes it into tomlFile
//     (UnmarshalExact with strictDecoding): that is where the values come
//     from;
//   - before that, go-toml decodes the same bytes into tomlFile with unknown
//     fields disallowed (checkFile). go-toml is the parser viper itself uses,
//     but viper's errors carry no position; this pass gives every syntax
//     error, unknown key and value of the wrong type its file:line:col.
//
// Pointers tell "not set" from "set to zero".
//
// Three things viper cannot be trusted with are taken from go-toml's pass:
// viper lower-cases every key it reads, so the names inside env.set
// (variable names: PATH is not path) and plugin_checksums (plugin binary
// names: a pin for a mixed-case name would silently never match), and the
// names of profiles ([profiles.CI] is selected by --profile CI), keep the
// case the file gives them only there. For the same reason a file whose
// keys differ only in case ("network" and "Network") is refused: viper
// would keep one of them at random.

type tomlEnv struct {
	Inherit *bool             `toml:"inherit"`
	Set     map[string]string `toml:"set"`
	Unset   []string          `toml:"unset"`
}

// tomlPolicy holds the keys a profile may set.
type tomlPolicy struct {
	Backend        *string  `toml:"backend"`
	Network        *string  `toml:"network"`
	WritableRoots  []string `toml:"writable_roots"`
	Protect        []string `toml:"protect"`
	DefaultProtect *bool    `toml:"default_protect"`
	ReadOnly       *bool    `toml:"read_only"`
	Read           []string `toml:"read"`
	WritableTmp    *bool    `toml:"writable_tmp"`
	Env            *tomlEnv `toml:"env"`
	Timeout        *string  `toml:"timeout"`
	Memory         any      `toml:"memory"`
	Pids           *int64   `toml:"pids"`
	CPU            *float64 `toml:"cpu"`
	AllowAdvisory  *bool    `toml:"allow_advisory"`
	BestEffort     *bool    `toml:"best_effort"`
}

// tomlFile is a whole configuration file.
type tomlFile struct {
	tomlPolicy
	Profile            *string               `toml:"profile"`
	PluginDirs         []string              `toml:"plugin_dirs"`
	PluginChecksums    map[string]string     `toml:"plugin_checksums"`
	PluginKeepAlive    *string               `toml:"plugin_keepalive"`
	TrustProjectConfig *bool                 `toml:"trust_project_config"`
	TrustedProjects    []string              `toml:"trusted_projects"`
	Profiles           map[string]tomlPolicy `toml:"profiles"`
}

// fileConfig is a parsed configuration file.
type fileConfig struct {
	// Path is the file's path.
	Path string
	// Top is what the file says outside profiles.
	Top settings
	// Profiles are the [profiles.NAME] tables.
	Profiles map[string]settings
}

// keyTypes describes the TOML type each key wants, for type-mismatch
// messages.
var keyTypes = map[string]string{
	kBackend:         "a string (a backend name, see `sbx backends`)",
	kProfile:         "a string (a profile name; profiles are defined as [profiles.NAME] tables)",
	kNetwork:         `a string, "deny" or "allow"`,
	kWritableRoots:   "an array of path strings",
	kProtect:         "an array of file-name strings",
	kDefaultProtect:  "a boolean",
	kReadOnly:        "a boolean",
	kRead:            "an array of path strings",
	kWritableTmp:     "a boolean",
	"env":            "a table with keys inherit, set, unset",
	kEnvInherit:      "a boolean",
	kEnvSet:          `a table of strings, e.g. { NAME = "value" }`,
	kEnvUnset:        "an array of variable-name strings",
	kTimeout:         `a duration string, e.g. "30s"`,
	kMemory:          `a size string, e.g. "512M", or a number of bytes`,
	kPids:            "an integer",
	kCPU:             "a number of cores, e.g. 1.5",
	kAllowAdvisory:   "a boolean",
	kBestEffort:      "a boolean",
	kPluginDirs:      "an array of directory strings",
	kPluginChecksums: `a table of hex SHA-256 strings, e.g. { "sbx-backend-foo" = "ab12..." }`,
	kPluginKeepAlive: `a duration string, e.g. "5m" ("0" turns plugin agents off)`,
	kTrustProject:    "a boolean",
	kTrustedProjects: "an array of directory strings",
	kProfiles:        "tables [profiles.NAME]",
}

// topLevelNames are the names allowed at the top of a file; envNames inside
// [env]; profileNames inside [profiles.NAME].
var (
	topLevelNames = []string{kBackend, kProfile, kNetwork, kWritableRoots, kProtect, kDefaultProtect,
		kReadOnly, kRead, kWritableTmp, "env", kTimeout, kMemory, kPids, kCPU, kAllowAdvisory,
		kBestEffort, kPluginDirs, kPluginChecksums, kPluginKeepAlive, kTrustProject, kTrustedProjects, kProfiles}
	envNames     = []string{"inherit", "set", "unset"}
	profileNames = []string{kBackend, kNetwork, kWritableRoots, kProtect, kDefaultProtect, kReadOnly,
		kRead, kWritableTmp, "env", kTimeout, kMemory, kPids, kCPU, kAllowAdvisory, kBestEffort}
)

// parseConfigFile decodes a configuration file: checkFile for the errors
// with their positions, then viper for the values (viperDecode), with the
// case-sensitive names put back (keepCase). Relative paths in it are
// resolved against the file's directory, "~" against home. It returns every
// problem found (unknown keys, bad values) as a *configError, together with
// the file's valid values; a TOML syntax or type error stops decoding, is
// reported with file:line:col, and gives no values.
func parseConfigFile(path string, data []byte, home string) (*fileConfig, error) {
	checked, err := checkFile(path, data)
	if err != nil {
		return nil, err
	}
	raw, err := viperDecode(path, data)
	if err != nil {
		return nil, err
	}
	keepCase(&raw, checked)
	dir := filepath.Dir(path)
	var probs []string
	fc := &fileConfig{Path: path, Profiles: map[string]settings{}}
	fc.Top = convertPolicy(raw.tomlPolicy, dir, home, func(key, msg string) {
		probs = append(probs, fmt.Sprintf("%s: key %q: %s", path, key, msg))
	})
	fc.Top.Profile = raw.Profile
	if raw.Profile != nil && *raw.Profile == "" {
		probs = append(probs, fmt.Sprintf("%s: key %q: must not be empty", path, kProfile))
	}
	for _, d := range raw.PluginDirs {
		p, err := resolvePath(d, dir, home)
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: key %q: %v", path, kPluginDirs, err))
			continue
		}
		fc.Top.PluginDirs = append(fc.Top.PluginDirs, p)
	}
	if raw.PluginChecksums != nil {
		fc.Top.PluginChecksums = map[string]string{}
		for _, name := range sortedKeys(raw.PluginChecksums) {
			sum, err := parseChecksum(raw.PluginChecksums[name])
			switch {
			case name == "" || strings.ContainsAny(name, `/\`):
				probs = append(probs, fmt.Sprintf("%s: key %q: %q is not a plugin binary name (e.g. \"sbx-backend-foo\")", path, kPluginChecksums, name))
			case err != nil:
				probs = append(probs, fmt.Sprintf("%s: key %q: plugin %q: %v", path, kPluginChecksums, name, err))
			default:
				fc.Top.PluginChecksums[name] = sum
			}
		}
	}
	if raw.PluginKeepAlive != nil {
		if d, err := parseKeepAlive(*raw.PluginKeepAlive); err != nil {
			probs = append(probs, fmt.Sprintf("%s: key %q: %v", path, kPluginKeepAlive, err))
		} else {
			fc.Top.PluginKeepAlive = &d
		}
	}
	fc.Top.TrustProjectConfig = raw.TrustProjectConfig
	for _, d := range raw.TrustedProjects {
		p, err := resolvePath(d, dir, home)
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: key %q: %v", path, kTrustedProjects, err))
			continue
		}
		fc.Top.TrustedProjects = append(fc.Top.TrustedProjects, p)
	}
	for _, name := range sortedKeys(raw.Profiles) {
		if name == "" {
			probs = append(probs, fmt.Sprintf("%s: [profiles.\"\"]: a profile needs a name", path))
			continue
		}
		fc.Profiles[name] = convertPolicy(raw.Profiles[name], dir, home, func(key, msg string) {
			probs = append(probs, fmt.Sprintf("%s: key %q: %s", path, "profiles."+name+"."+key, msg))
		})
	}
	if len(probs) > 0 {
		// The file with its bad values left out, so that the caller can
		// still find (and report) the problems of the other layers.
		return fc, &configError{Problems: probs}
	}
	return fc, nil
}

// checkFile is the strict go-toml pass over a file (see the top of this
// file): it reports syntax errors, unknown keys and values of the wrong
// type with file:line:col, and keys that differ only in case. It returns
// the file as go-toml read it, for the names whose case viper loses.
func checkFile(path string, data []byte) (*tomlFile, error) {
	var checked tomlFile
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&checked); err != nil {
		return nil, &configError{Problems: decodeProblems(path, data, err)}
	}
	// The document as plain tables, to compare the spelling of its keys.
	// It parsed just above, so this cannot fail; checked anyway.
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, &configError{Problems: []string{fmt.Sprintf("%s: %v", path, err)}}
	}
	if probs := caseClashes(path, nil, doc); len(probs) > 0 {
		return nil, &configError{Problems: probs}
	}
	return &checked, nil
}

// caseClashes returns a problem for each pair of keys of table (at the key
// path parent) that differ only in case, and for those of the tables
// inside it, except inside the tables whose names are case-sensitive.
func caseClashes(path string, parent []string, table map[string]any) []string {
	var probs []string
	seen := map[string]string{}
	for _, k := range sortedKeys(table) {
		key := append(slices.Clone(parent), k)
		lower := strings.ToLower(k)
		if first, ok := seen[lower]; ok {
			probs = append(probs, fmt.Sprintf("%s: keys %q and %q differ only in case; sbx reads keys case-insensitively, so keep one of them",
				path, strings.Join(append(slices.Clone(parent), first), "."), strings.Join(key, ".")))
			continue
		}
		seen[lower] = k
		if sub, ok := table[k].(map[string]any); ok && !caseSensitiveTable(key) {
			probs = append(probs, caseClashes(path, key, sub)...)
		}
	}
	return probs
}

// caseSensitiveTable reports whether key names a table whose entries keep
// their case: env.set, profiles.NAME.env.set and plugin_checksums.
func caseSensitiveTable(key []string) bool {
	k := make([]string, len(key))
	for i, part := range key {
		k[i] = strings.ToLower(part)
	}
	switch {
	case len(k) == 1:
		return k[0] == kPluginChecksums
	case len(k) == 2:
		return k[0] == "env" && k[1] == "set"
	case len(k) == 4:
		return k[0] == kProfiles && k[2] == "env" && k[3] == "set"
	}
	return false
}

// fileKeyDelim separates the levels of a key inside the viper of a file.
// Not viper's ".": profile names and env.set names may contain dots
// ([profiles."go1.22"]), and viper would split them into nested tables.
// A name with a NUL in it (only possible as a "\u0000" escape) is split
// instead, and then fails to decode: refused, not misread.
const fileKeyDelim = "\x00"

// viperDecode has viper read a file's TOML and decode it into a tomlFile,
// strictly (strictDecoding). checkFile has already reported what is wrong
// with the file, with positions, so an error here is not expected; if one
// comes, it is reported as it is.
func viperDecode(path string, data []byte) (tomlFile, error) {
	v := viper.NewWithOptions(viper.KeyDelimiter(fileKeyDelim))
	v.SetConfigFile(path)
	v.SetConfigType("toml")
	var t tomlFile
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return t, &configError{Problems: []string{fmt.Sprintf("%s: %v (see docs/configuration.md)", path, err)}}
	}
	if err := v.UnmarshalExact(&t, strictDecoding); err != nil {
		return t, &configError{Problems: []string{fmt.Sprintf("%s: %v (see docs/configuration.md)",
			path, strings.ReplaceAll(err.Error(), fileKeyDelim, "."))}}
	}
	return t, nil
}

// strictDecoding makes viper's decoding as strict as sbx's file format: a
// key the structs do not have is an error (UnmarshalExact asks for that
// too), nothing is converted from another type ("yes" is not a boolean, 1
// is not a string: no WeaklyTypedInput), and viper's string-to-duration
// and string-to-list hooks are off, because values are parsed by values.go
// as in every other layer. tomlFile embeds tomlPolicy, which go-toml
// flattens; Squash makes mapstructure do the same. One leniency is left
// that no option turns off: mapstructure truncates a float into an integer
// (pids = 1.5 would be 1); checkFile refuses it before viper sees it.
func strictDecoding(c *mapstructure.DecoderConfig) {
	c.TagName = "toml"
	c.ErrorUnused = true
	c.WeaklyTypedInput = false
	c.DecodeHook = nil
	c.Squash = true
}

// keepCase puts back into t, which viper decoded with every key
// lower-cased, the names whose case matters, from checked (go-toml's
// reading of the same file): the env.set and plugin_checksums tables, and
// the names of the profiles. caseClashes has made sure that lower-casing
// merged no two keys.
func keepCase(t *tomlFile, checked *tomlFile) {
	t.PluginChecksums = checked.PluginChecksums
	t.Env = withEnvSet(t.Env, checked.Env)
	if checked.Profiles == nil {
		t.Profiles = nil
		return
	}
	profiles := make(map[string]tomlPolicy, len(checked.Profiles))
	for name, c := range checked.Profiles {
		// Missing for an empty [profiles.NAME]: viper drops empty tables.
		p := t.Profiles[strings.ToLower(name)]
		p.Env = withEnvSet(p.Env, c.Env)
		profiles[name] = p
	}
	t.Profiles = profiles
}

// withEnvSet returns e with the env.set table of checked.
func withEnvSet(e, checked *tomlEnv) *tomlEnv {
	if checked == nil || checked.Set == nil {
		return e
	}
	if e == nil {
		e = &tomlEnv{}
	}
	e.Set = checked.Set
	return e
}

// convertPolicy turns the policy keys of a file (or of one of its profiles)
// into settings, calling bad for each bad value.
func convertPolicy(t tomlPolicy, dir, home string, bad func(key, msg string)) settings {
	var s settings
	if t.Backend != nil {
		if *t.Backend == "" {
			bad(kBackend, "must not be empty")
		} else {
			s.Backend = t.Backend
		}
	}
	if t.Network != nil {
		if v, err := parseNetwork(*t.Network); err != nil {
			bad(kNetwork, err.Error())
		} else {
			s.Network = &v
		}
	}
	paths := func(key string, in []string) []string {
		var out []string
		for _, p := range in {
			abs, err := resolvePath(p, dir, home)
			if err != nil {
				bad(key, err.Error())
				continue
			}
			out = append(out, abs)
		}
		return out
	}
	s.WritableRoots = paths(kWritableRoots, t.WritableRoots)
	s.Read = paths(kRead, t.Read)
	if t.Read != nil && len(t.Read) == 0 {
		bad(kRead, "an empty list would leave nothing readable; list the paths the command may read, or remove the key to read everything")
	}
	s.Protect = t.Protect
	s.DefaultProtect = t.DefaultProtect
	s.ReadOnly = t.ReadOnly
	s.WritableTmp = t.WritableTmp
	if t.Env != nil {
		s.EnvInherit = t.Env.Inherit
		s.EnvSet = t.Env.Set
		s.EnvUnset = t.Env.Unset
	}
	if t.Timeout != nil {
		if d, err := parseDuration(*t.Timeout); err != nil {
			bad(kTimeout, err.Error())
		} else {
			s.Timeout = &d
		}
	}
	switch m := t.Memory.(type) {
	case nil:
	case string:
		if n, err := parseSize(m); err != nil {
			bad(kMemory, err.Error())
		} else {
			s.Memory = &n
		}
	case int64:
		if n, err := parseSize(fmt.Sprint(m)); err != nil {
			bad(kMemory, err.Error())
		} else {
			s.Memory = &n
		}
	default:
		bad(kMemory, fmt.Sprintf("want %s, got %v", keyTypes[kMemory], m))
	}
	if t.Pids != nil {
		if *t.Pids < 0 {
			bad(kPids, fmt.Sprintf("%d: must not be negative (0 = no limit)", *t.Pids))
		} else {
			s.Pids = t.Pids
		}
	}
	if t.CPU != nil {
		if v, err := parseCPU(fmt.Sprint(*t.CPU)); err != nil {
			bad(kCPU, err.Error())
		} else {
			s.CPU = &v
		}
	}
	s.AllowAdvisory = t.AllowAdvisory
	s.BestEffort = t.BestEffort
	return s
}

// decodeTypeRe picks the TOML type out of go-toml's type-mismatch
// messages ("cannot decode TOML integer into ...", "cannot store a table in
// a string").
var decodeTypeRe = regexp.MustCompile(`cannot (?:decode TOML (\w+)|store an? (\w+) in)`)

// decodeProblems turns a go-toml error into messages with file:line:col,
// the key and a hint. data is the document, to quote the offending line
// when go-toml does not name the key.
func decodeProblems(path string, data []byte, err error) []string {
	var missing *toml.StrictMissingError
	if errors.As(err, &missing) {
		var out []string
		for _, e := range missing.Errors {
			row, col := e.Position()
			out = append(out, fmt.Sprintf("%s:%d:%d: unknown key %q%s", path, row, col,
				strings.Join(e.Key(), "."), unknownKeyHint(e.Key())))
		}
		return out
	}
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	row, col := de.Position()
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	key := de.Key()
	// The longest prefix of the key that is a known key: "[profile.a]"
	// is a table stored in the string key "profile".
	want := ""
	for n := len(key); n > 0 && want == ""; n-- {
		if want = keyTypes[typeKey(key[:n])]; want != "" {
			key = key[:n]
		}
	}
	m := decodeTypeRe.FindStringSubmatch(msg)
	switch {
	case m != nil && len(key) > 0 && want != "":
		// A value of the wrong type: say what the key wants.
		msg = fmt.Sprintf("key %q: want %s, got a TOML %s", strings.Join(key, "."), want, m[1]+m[2])
	case len(key) == 0:
		// go-toml did not say which key: quote the line.
		if line := lineOf(data, row); line != "" {
			msg += fmt.Sprintf(" near %q", line)
			if strings.HasPrefix(line, "[profile.") {
				msg += " (profiles are defined as [profiles.NAME])"
			}
		}
	}
	return []string{fmt.Sprintf("%s:%d:%d: %s (see docs/configuration.md)", path, row, col, msg)}
}

// lineOf returns line n (1-based) of data, trimmed, or "".
func lineOf(data []byte, n int) string {
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimSpace(lines[n-1])
}

// typeKey maps a key path from a decode error to its keyTypes entry:
// profiles.NAME.x is x, env.x is env.x.
func typeKey(key []string) string {
	if len(key) >= 3 && key[0] == kProfiles {
		key = key[2:]
	}
	return strings.Join(key, ".")
}

// unknownKeyHint suggests a close known name at the same level, and
// explains keys that exist elsewhere (a file-only key inside a profile).
func unknownKeyHint(key []string) string {
	last := key[len(key)-1]
	switch {
	case len(key) == 1:
		return hintFor(last, topLevelNames)
	case len(key) == 2 && key[0] == "env":
		return hintFor(last, envNames)
	case len(key) == 3 && key[0] == kProfiles:
		for _, k := range fileOnlyKeys {
			if last == k {
				return fmt.Sprintf(" (%q cannot be set in a profile, only at the top of a file)", last)
			}
		}
		return hintFor(last, profileNames)
	case len(key) == 4 && key[0] == kProfiles && key[2] == "env":
		return hintFor(last, envNames)
	}
	return ""
}

// configError lists every problem found in the configuration (files,
// environment, flags). It matches core.ErrInvalidPolicy: nothing was run.
type configError struct {
	Problems []string
}

func (e *configError) Error() string {
	if len(e.Problems) == 1 {
		return "configuration: " + e.Problems[0]
	}
	return "configuration has " + fmt.Sprint(len(e.Problems)) + " problems:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Is makes errors.Is(err, core.ErrInvalidPolicy) true.
func (e *configError) Is(target error) bool { return target == core.ErrInvalidPolicy }
