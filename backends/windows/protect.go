package windows

import (
	"sort"
	"strings"

	"github.com/sbxdev/sbx/core"
)

// resolveProtected is core.ResolveProtected for Windows paths, usable on
// every OS: each protected name directly inside each writable path, and for
// a ".git" file ("gitdir: X") the git directory and its commondir. Unlike
// core's version it compares paths case-insensitively (NTFS's default).
// Like core's, it looks only inside the policy's writable paths, not the
// temporary directories.
func resolveProtected(p core.Policy, roots []string, fs FS) []core.ProtectedPath {
	seen := map[string]bool{}
	var out []core.ProtectedPath
	add := func(pp core.ProtectedPath) {
		k := winKey(pp.Path)
		if seen[k] {
			return
		}
		seen[k] = true
		pp.Exists, pp.IsDir = fs.Stat(pp.Path)
		out = append(out, pp)
	}
	for _, root := range roots {
		for _, name := range p.Protected {
			path := winJoin(root, name)
			add(core.ProtectedPath{Path: path, Root: root, Name: name})
			if !strings.EqualFold(name, ".git") {
				continue
			}
			if ok, dir := fs.Stat(path); !ok || dir {
				continue
			}
			gitdir := readGitdir(fs, path)
			if gitdir == "" {
				continue
			}
			add(core.ProtectedPath{Path: gitdir, Root: root, Name: name, Via: path})
			if b, err := fs.ReadFile(winJoin(gitdir, "commondir")); err == nil {
				if common := strings.TrimSpace(string(b)); common != "" {
					if !winIsAbs(common) {
						common = winJoin(gitdir, common)
					}
					add(core.ProtectedPath{Path: winClean(common), Root: root, Name: name, Via: path})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return winKey(out[i].Path) < winKey(out[j].Path) })
	return out
}

// readGitdir parses a ".git" file and returns the absolute git directory,
// or "" when the file is not "gitdir: PATH".
func readGitdir(fs FS, path string) string {
	b, err := fs.ReadFile(path)
	if err != nil || len(b) > 64<<10 {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	dir, ok := strings.CutPrefix(line, "gitdir:")
	if !ok {
		return ""
	}
	dir = strings.TrimSpace(dir)
	if dir == "" {
		return ""
	}
	if !winIsAbs(dir) {
		dir = winJoin(winDir(path), dir)
	}
	return winClean(dir)
}
