package host

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/sbxdev/sbx/plugins"
)

// EnvPluginPath names the environment variable listing extra plugin
// directories, separated like PATH.
const EnvPluginPath = "SBX_PLUGIN_PATH"

// searchDirs returns the plugin directories in search order: the directory
// of the running executable (where the built-in plugins are installed),
// then $SBX_PLUGIN_PATH, then the configured ones. Duplicates are dropped.
func (h *Host) searchDirs() []string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Dir(exe))
	}
	if v := h.getenv(EnvPluginPath); v != "" {
		dirs = append(dirs, filepath.SplitList(v)...)
	}
	dirs = append(dirs, h.opts.Dirs...)
	seen := map[string]bool{}
	out := dirs[:0]
	for _, d := range dirs {
		if d == "" {
			continue
		}
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// binaryName is the file name of the plugin called name.
func binaryName(name string) string {
	n := plugins.BinaryPrefix + name
	if runtime.GOOS == "windows" {
		n += ".exe"
	}
	return n
}

// pluginNameOf returns the plugin name of a binary file name, or "" when
// the file is not a plugin.
func pluginNameOf(file string) string {
	if runtime.GOOS == "windows" {
		if !strings.EqualFold(filepath.Ext(file), ".exe") {
			return ""
		}
		file = strings.TrimSuffix(file, filepath.Ext(file))
	}
	if !strings.HasPrefix(file, plugins.BinaryPrefix) {
		return ""
	}
	name := strings.TrimPrefix(file, plugins.BinaryPrefix)
	if name == "" || strings.ContainsAny(name, ". ") {
		return ""
	}
	return name
}

// findBinary returns the first plugin binary called name in the search
// path, or "".
func (h *Host) findBinary(name string) string {
	for _, d := range h.searchDirs() {
		p := filepath.Join(d, binaryName(name))
		if isExecutable(p) {
			return p
		}
	}
	return ""
}

// allBinaries returns every plugin binary in the search path, the first of
// each name winning, sorted by plugin name.
func (h *Host) allBinaries() map[string]string {
	found := map[string]string{}
	for _, d := range h.searchDirs() {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := pluginNameOf(e.Name())
			if name == "" || found[name] != "" {
				continue
			}
			p := filepath.Join(d, e.Name())
			if isExecutable(p) {
				found[name] = p
			}
		}
	}
	return found
}

// candidates returns the plugin names that may serve backend: the backend
// name itself, then its prefix before the first '-' ("linux-landlock" is
// served by sbx-backend-linux).
func candidates(backend string) []string {
	c := []string{backend}
	if i := strings.IndexByte(backend, '-'); i > 0 {
		c = append(c, backend[:i])
	}
	return c
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() {
		return false
	}
	if runtime.GOOS == "windows" {
		return true
	}
	return fi.Mode()&0o111 != 0
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
