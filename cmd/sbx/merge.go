package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sbxdev/sbx/core"
)

// origins records where each effective value came from: scalar keys, each
// element of a list, each entry of a table.
type origins struct {
	// scalar maps a key to the origin of its value.
	scalar map[string]string
	// lists maps a list key to the origins of its elements, in order. The
	// key "protected" holds the origins of core.Policy.Protected.
	lists map[string][]string
	// table maps "env.set.NAME" or "plugin_checksums.NAME" to an origin.
	table map[string]string
}

// set records the origin of a scalar key that no layer's settings carry
// (the profile's name, the workspace).
func (o *origins) set(key, origin string) { o.scalar[key] = origin }

// of returns the origin of a scalar key, "default" when unknown.
func (o *origins) of(key string) string {
	if s, ok := o.scalar[key]; ok {
		return s
	}
	return "default"
}

// elem returns the origin of element i of a list key.
func (o *origins) elem(key string, i int) string {
	if l := o.lists[key]; i >= 0 && i < len(l) {
		return l[i]
	}
	return "default"
}

// merger folds layers into one set of settings, lowest precedence first.
type merger struct {
	s       settings
	origins *origins
}

func newMerger() *merger {
	return &merger{origins: &origins{scalar: map[string]string{}, lists: map[string][]string{}, table: map[string]string{}}}
}

// setPtr copies *src into *dst when the layer sets it.
func setPtr[T any](m *merger, dst **T, src *T, key string, l layer) {
	if src == nil {
		return
	}
	v := *src
	*dst = &v
	m.origins.scalar[key] = l.origin(key)
}

// addList appends the layer's elements not already present.
func (m *merger) addList(dst *[]string, src []string, key string, l layer) {
	for _, v := range src {
		if slices.Contains(*dst, v) {
			continue
		}
		*dst = append(*dst, v)
		m.origins.lists[key] = append(m.origins.lists[key], l.origin(key))
	}
}

// mergeTable sets each of the layer's entries.
func (m *merger) mergeTable(dst *map[string]string, src map[string]string, key string, l layer) {
	if src == nil {
		return
	}
	if *dst == nil {
		*dst = map[string]string{}
	}
	for k, v := range src {
		(*dst)[k] = v
		m.origins.table[key+"."+k] = l.origin(key)
	}
}

// apply merges one layer over what is there.
func (m *merger) apply(l layer) {
	s := &l.s
	setPtr(m, &m.s.Backend, s.Backend, kBackend, l)
	setPtr(m, &m.s.Network, s.Network, kNetwork, l)
	m.addList(&m.s.WritableRoots, s.WritableRoots, kWritableRoots, l)
	m.addList(&m.s.Protect, s.Protect, kProtect, l)
	setPtr(m, &m.s.DefaultProtect, s.DefaultProtect, kDefaultProtect, l)
	setPtr(m, &m.s.ReadOnly, s.ReadOnly, kReadOnly, l)
	m.addList(&m.s.Read, s.Read, kRead, l)
	setPtr(m, &m.s.WritableTmp, s.WritableTmp, kWritableTmp, l)
	setPtr(m, &m.s.EnvInherit, s.EnvInherit, kEnvInherit, l)
	m.mergeTable(&m.s.EnvSet, s.EnvSet, kEnvSet, l)
	m.addList(&m.s.EnvUnset, s.EnvUnset, kEnvUnset, l)
	setPtr(m, &m.s.Timeout, s.Timeout, kTimeout, l)
	setPtr(m, &m.s.Memory, s.Memory, kMemory, l)
	setPtr(m, &m.s.Pids, s.Pids, kPids, l)
	setPtr(m, &m.s.CPU, s.CPU, kCPU, l)
	setPtr(m, &m.s.AllowAdvisory, s.AllowAdvisory, kAllowAdvisory, l)
	setPtr(m, &m.s.BestEffort, s.BestEffort, kBestEffort, l)
	m.addList(&m.s.PluginDirs, s.PluginDirs, kPluginDirs, l)
	m.mergeTable(&m.s.PluginChecksums, s.PluginChecksums, kPluginChecksums, l)
	setPtr(m, &m.s.PluginKeepAlive, s.PluginKeepAlive, kPluginKeepAlive, l)
}

// snapshot returns a copy of the merged settings so far.
func (m *merger) snapshot() settings {
	c := m.s
	c.WritableRoots = slices.Clone(m.s.WritableRoots)
	c.Protect = slices.Clone(m.s.Protect)
	c.Read = slices.Clone(m.s.Read)
	c.EnvUnset = slices.Clone(m.s.EnvUnset)
	c.EnvSet = maps.Clone(m.s.EnvSet)
	c.PluginDirs = slices.Clone(m.s.PluginDirs)
	c.PluginChecksums = maps.Clone(m.s.PluginChecksums)
	return c
}

// policy builds the core.Policy and acceptance of the merged settings, and
// records the origins of the protected names.
func (m *merger) policy(workspace string) (core.Policy, core.Acceptance) {
	s := m.s
	p := core.DefaultPolicy(workspace)
	p.Network.Mode = core.NetworkMode(*s.Network)
	p.WritableRoots = slices.Clone(s.WritableRoots)
	p.Protected = nil
	var prot []string
	if *s.DefaultProtect {
		for _, n := range core.DefaultProtectedNames {
			p.Protected = append(p.Protected, n)
			prot = append(prot, "default")
		}
	}
	for i, n := range s.Protect {
		if !slices.Contains(p.Protected, n) {
			p.Protected = append(p.Protected, n)
			prot = append(prot, m.origins.elem(kProtect, i))
		}
	}
	if p.Protected == nil {
		p.Protected = []string{}
	}
	m.origins.lists["protected"] = prot
	p.ReadOnly = *s.ReadOnly
	if len(s.Read) > 0 {
		p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: slices.Clone(s.Read)}
	}
	p.WritableTmp = *s.WritableTmp
	p.Env = core.EnvPolicy{Inherit: *s.EnvInherit, Set: maps.Clone(s.EnvSet), Unset: slices.Clone(s.EnvUnset)}
	p.Limits = core.Limits{Timeout: *s.Timeout, MemoryBytes: *s.Memory, Pids: *s.Pids, CPU: *s.CPU}
	acc := core.Acceptance{AllowAdvisory: *s.AllowAdvisory, BestEffort: *s.BestEffort}
	return p, acc
}

// setting is one row of `sbx config`: a key, its effective value and where
// the value came from.
type setting struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Origin string `json:"origin"`
}

// settingsTable lists every effective value of cfg with its origin, in a
// fixed order: one row per scalar, per list element, per table entry.
func (cfg *config) settingsTable() []setting {
	o := cfg.Origins
	p := cfg.Policy
	var rows []setting
	add := func(key, value, origin string) { rows = append(rows, setting{key, value, origin}) }
	list := func(key string, values []string, originKey string, none string) {
		if len(values) == 0 {
			add(key, none, o.of(originKey))
			return
		}
		for i, v := range values {
			add(key, v, o.elem(originKey, i))
		}
	}
	table := func(key string, m map[string]string) {
		for _, k := range sortedKeys(m) {
			add(key+"."+k, m[k], o.table[key+"."+k])
		}
	}
	boolean := func(key string, v bool) { add(key, strconv.FormatBool(v), o.of(key)) }
	limit := func(key string, set bool, v string) {
		if !set {
			v = "none"
		}
		add(key, v, o.of(key))
	}

	add(kBackend, cfg.Backend, o.of(kBackend))
	if cfg.Profile != "" {
		add(kProfile, cfg.Profile, o.of(kProfile))
	}
	add("workspace", p.Workspace, o.of("workspace"))
	add(kNetwork, string(p.Network.Mode), o.of(kNetwork))
	list(kWritableRoots, p.WritableRoots, kWritableRoots, "(none besides the workspace)")
	boolean(kReadOnly, p.ReadOnly)
	boolean(kDefaultProtect, cfg.DefaultProtect)
	list(kProtect, p.Protected, "protected", "(none)")
	list(kRead, p.Read.Paths, kRead, "(everything)")
	boolean(kWritableTmp, p.WritableTmp)
	boolean(kEnvInherit, p.Env.Inherit)
	table(kEnvSet, p.Env.Set)
	list(kEnvUnset, p.Env.Unset, kEnvUnset, "(none)")
	limit(kTimeout, p.Limits.Timeout > 0, p.Limits.Timeout.String())
	limit(kMemory, p.Limits.MemoryBytes > 0, core.FormatBytes(p.Limits.MemoryBytes))
	limit(kPids, p.Limits.Pids > 0, strconv.FormatInt(p.Limits.Pids, 10))
	limit(kCPU, p.Limits.CPU > 0, strconv.FormatFloat(p.Limits.CPU, 'g', -1, 64))
	boolean(kAllowAdvisory, cfg.Accept.AllowAdvisory)
	boolean(kBestEffort, cfg.Accept.BestEffort)
	list(kPluginDirs, cfg.PluginDirs, kPluginDirs, "(none)")
	table(kPluginChecksums, cfg.PluginPins)
	add(kPluginKeepAlive, keepAliveValue(cfg.PluginKeepAlive), o.of(kPluginKeepAlive))
	return rows
}

// keepAliveValue shows plugin_keepalive in `sbx config`: the duration, what
// 0 means, and that it does nothing where agents do not exist.
func keepAliveValue(d time.Duration) string {
	switch {
	case d == 0:
		return "0 (plugin agents off)"
	case !agentsSupported:
		return d.String() + " (no effect: plugin agents are Linux-only)"
	}
	return d.String()
}

// originOfField returns where the value behind a core.Policy.Validate
// field ("writable_roots[2]", "protected[0]", "env.set") came from.
func (cfg *config) originOfField(field, value string) string {
	o := cfg.Origins
	name, idx := field, -1
	if i := strings.IndexByte(field, '['); i > 0 && strings.HasSuffix(field, "]") {
		name = field[:i]
		if n, err := strconv.Atoi(field[i+1 : len(field)-1]); err == nil {
			idx = n
		}
	}
	switch name {
	case "workspace":
		return o.of("workspace")
	case "writable_roots":
		return o.elem(kWritableRoots, idx)
	case "protected":
		return o.elem("protected", idx)
	case "read.paths":
		return o.elem(kRead, idx)
	case "env.unset":
		return o.elem(kEnvUnset, idx)
	case "env.set":
		return o.table[kEnvSet+"."+value]
	case "network.mode":
		return o.of(kNetwork)
	case "limits.timeout":
		return o.of(kTimeout)
	case "limits.memory":
		return o.of(kMemory)
	case "limits.pids":
		return o.of(kPids)
	case "limits.cpu":
		return o.of(kCPU)
	}
	return ""
}

// describeProblem formats a core.Problem with the origin of its value.
func (cfg *config) describeProblem(pr core.Problem) string {
	s := pr.String()
	if from := cfg.originOfField(pr.Field, pr.Value); from != "" {
		s += fmt.Sprintf(" (from %s)", from)
	}
	return s
}
