package linux

import (
	"sort"
	"strconv"
	"strings"
)

// Facts is what the plugin found out about the host when it started. It is
// probed once ([Probe]) and is the only host input of [BuildPlan] besides
// the file system layout, so plans can be table-tested with fake facts.
type Facts struct {
	// Kernel is the kernel release (uname -r).
	Kernel string `json:"kernel"`
	// LandlockABI is the usable Landlock ABI version, 0 when Landlock is
	// unavailable. It is the kernel's answer to the
	// landlock_create_ruleset version query, lowered to 5 when the kernel
	// reports ABI 6+ without the signal-scoping erratum fix, and capped at
	// the highest version this build knows.
	LandlockABI int `json:"landlock_abi"`
	// LandlockNote says why Landlock is unavailable or was lowered.
	LandlockNote string `json:"landlock_note,omitempty"`
	// Seccomp is true when a seccomp filter can be built and loaded (the
	// plugin was built with cgo and libseccomp, and the kernel has
	// seccomp filters).
	Seccomp bool `json:"seccomp"`
	// SeccompNote says why seccomp is unavailable.
	SeccompNote string `json:"seccomp_note,omitempty"`
	// UserNS is true when this process could create a user namespace
	// together with mount, pid and network namespaces (tried, not guessed).
	UserNS bool `json:"user_namespaces"`
	// UserNSNote says why user namespaces are unavailable and what to do.
	UserNSNote string `json:"user_namespaces_note,omitempty"`
	// UID is the effective user id of the plugin.
	UID int `json:"uid"`
	// GID is the effective group id of the plugin.
	GID int `json:"gid"`
	// Cgroup describes the cgroup setup usable for limits.
	Cgroup CgroupFacts `json:"cgroup"`
	// Helper is the executable started for the helper roles (see package
	// sandbox): the dedicated sbx-linux-sandbox next to the plugin, or the
	// plugin itself when that is missing.
	Helper string `json:"helper"`
	// HelperNote says which of the two Helper is, and why.
	HelperNote string `json:"helper_note,omitempty"`
	// TmpDirs are the temporary directories (/tmp and $TMPDIR when it
	// differs), as core.Requested lists them.
	TmpDirs []string `json:"tmp_dirs"`
}

// CgroupFacts describes where the backend can create cgroups for limits.
type CgroupFacts struct {
	// Mode is the host's cgroup layout: "v2" (unified only), "hybrid"
	// (v1 controllers plus a v2 hierarchy), "v1", or "none".
	Mode string `json:"mode"`
	// Version is the hierarchy the backend uses for limits: 2, 1, or 0
	// when none is usable.
	Version int `json:"version"`
	// Parents maps a controller ("memory", "pids", "cpu"; "unified" for
	// v2) to the directory under which run cgroups are created.
	Parents map[string]string `json:"parents,omitempty"`
	// Controllers lists the controllers usable in Parents.
	Controllers []string `json:"controllers,omitempty"`
	// Swap is true when the memory controller accounts swap (v2
	// memory.swap.max, v1 memory.memsw.*), so a memory limit caps swap
	// too.
	Swap bool `json:"swap,omitempty"`
	// Note says why limits are unusable or partial.
	Note string `json:"note,omitempty"`
}

// Has reports whether controller c is usable.
func (c CgroupFacts) Has(ctrl string) bool {
	for _, x := range c.Controllers {
		if x == ctrl {
			return true
		}
	}
	return false
}

// Map flattens the facts into the key/value form of core.Info.Facts.
func (f Facts) Map() map[string]string {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	m := map[string]string{
		"kernel":          f.Kernel,
		"landlock_abi":    strconv.Itoa(f.LandlockABI),
		"seccomp":         yes(f.Seccomp),
		"user_namespaces": yes(f.UserNS),
		"uid":             strconv.Itoa(f.UID),
		"cgroup_mode":     f.Cgroup.Mode,
		"cgroup_limits":   "none",
		"tmp_dirs":        strings.Join(f.TmpDirs, ","),
		"sandbox_helper":  f.HelperNote,
	}
	if f.Cgroup.Version > 0 {
		ctrls := append([]string(nil), f.Cgroup.Controllers...)
		sort.Strings(ctrls)
		m["cgroup_limits"] = "v" + strconv.Itoa(f.Cgroup.Version) + ":" + strings.Join(ctrls, ",")
	}
	for k, v := range map[string]string{
		"landlock_note":        f.LandlockNote,
		"seccomp_note":         f.SeccompNote,
		"user_namespaces_note": f.UserNSNote,
		"cgroup_note":          f.Cgroup.Note,
	} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}
