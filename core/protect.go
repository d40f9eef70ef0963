package core

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ProtectedPath is one path that must stay read-only inside a writable root.
type ProtectedPath struct {
	// Path is the absolute path (root joined with the name, or a git
	// directory a .git file points at).
	Path string `json:"path"`
	// Root is the writable root it protects something inside.
	Root string `json:"root"`
	// Name is the protected name that produced it.
	Name string `json:"name"`
	// Exists tells whether the path exists now. Backends must also refuse
	// creating a path that does not exist.
	Exists bool `json:"exists"`
	// IsDir tells whether it is a directory (when it exists).
	IsDir bool `json:"is_dir,omitempty"`
	// Via is set for a git directory found through a ".git" file: the path
	// of that file.
	Via string `json:"via,omitempty"`
}

// FileReader reads a file, for ResolveProtected; os.ReadFile in production.
type FileReader func(path string) ([]byte, error)

// StatFunc reports whether a path exists and is a directory, without
// following a final symlink; see [LstatPath].
type StatFunc func(path string) (exists, isDir bool)

// LstatPath is the StatFunc of the real file system.
func LstatPath(path string) (exists, isDir bool) {
	fi, err := os.Lstat(path)
	if err != nil {
		return false, false
	}
	return true, fi.IsDir()
}

// ResolveProtected lists the protected paths of p: each protected name
// directly inside each writable root, and for a ".git" that is a file
// ("gitdir: PATH", as git worktrees and submodules write), the git directory
// it points at and, for a worktree, the common directory named by its
// "commondir" file. Paths are returned sorted and without duplicates.
//
// A protected path that resolves outside every writable root is still
// listed: it is read-only anyway, and listing it keeps the plan honest.
func ResolveProtected(p Policy, read FileReader, stat StatFunc) []ProtectedPath {
	if read == nil {
		read = os.ReadFile
	}
	if stat == nil {
		stat = LstatPath
	}
	seen := map[string]bool{}
	var out []ProtectedPath
	add := func(pp ProtectedPath) {
		if seen[pp.Path] {
			return
		}
		seen[pp.Path] = true
		pp.Exists, pp.IsDir = stat(pp.Path)
		out = append(out, pp)
	}
	for _, root := range p.WritePaths() {
		for _, name := range p.Protected {
			path := filepath.Join(root, name)
			add(ProtectedPath{Path: path, Root: root, Name: name})
			if name != ".git" {
				continue
			}
			if ok, dir := stat(path); !ok || dir {
				continue
			}
			gitdir := readGitdirFile(read, path)
			if gitdir == "" {
				continue
			}
			add(ProtectedPath{Path: gitdir, Root: root, Name: name, Via: path})
			if b, err := read(filepath.Join(gitdir, "commondir")); err == nil {
				common := strings.TrimSpace(string(b))
				if common != "" {
					if !filepath.IsAbs(common) {
						common = filepath.Join(gitdir, common)
					}
					add(ProtectedPath{Path: filepath.Clean(common), Root: root, Name: name, Via: path})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// readGitdirFile parses a ".git" file ("gitdir: PATH") and returns the
// absolute, cleaned git directory, or "" when the file is not of that form.
func readGitdirFile(read FileReader, path string) string {
	b, err := read(path)
	if err != nil || len(b) > 64<<10 {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	const prefix = "gitdir:"
	if !strings.HasPrefix(line, prefix) {
		return ""
	}
	dir := strings.TrimSpace(strings.TrimPrefix(line, prefix))
	if dir == "" {
		return ""
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(path), dir)
	}
	return filepath.Clean(dir)
}
