package linux

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sbxdev/sbx/core"
)

// GatherLayout reads the part of the file system a plan for p depends on:
// the protected paths (with the targets of protected names that are
// symlinks), the listings of the directories to carve, and the kinds of the
// paths the plan looks at, and, for mode linux-landlock with reads not
// restricted, the entries of / (the read rules). Only this function
// touches the disk; [BuildPlan] takes its result.
func GatherLayout(p core.Policy, f Facts, mode Mode) (Layout, error) {
	prot := core.ResolveProtected(p, nil, nil)
	l := Layout{Dirs: map[string][]Entry{}, Kinds: map[string]Kind{}}
	for _, pp := range prot {
		l.Kinds[pp.Path] = lstatKind(pp.Path)
	}
	// A protected name that is a symlink protects its target too: writes
	// through the link must not land in a writable directory. When the
	// target does not exist, the first missing step towards it is
	// protected instead, so that it cannot be created (a command making
	// the target of a dangling .git link would give git its hooks).
	for _, pp := range append([]core.ProtectedPath(nil), prot...) {
		if l.Kinds[pp.Path] != KindSymlink {
			continue
		}
		target, err := filepath.EvalSymlinks(pp.Path)
		exists := err == nil
		if !exists {
			var ok bool
			if target, ok = danglingTarget(pp.Path); !ok {
				continue // a loop, or a step that is not a directory: nothing can be created through it
			}
		}
		if _, seen := l.Kinds[target]; seen {
			continue // already protected
		}
		l.Kinds[target] = lstatKind(target)
		prot = append(prot, core.ProtectedPath{Path: target, Root: pp.Root, Name: pp.Name, Exists: exists, IsDir: l.Kinds[target] == KindDir, Via: pp.Path})
	}
	// Resolved paths (link targets, absolute gitdirs) inside a writable
	// root named through a symlink are protected under the root's name
	// too: the plan matches protected paths to roots by their text.
	aliases := rootAliases(p.WritePaths())
	for _, pp := range append([]core.ProtectedPath(nil), prot...) {
		for _, alias := range aliases(pp.Path) {
			if _, seen := l.Kinds[alias]; seen {
				continue
			}
			l.Kinds[alias] = lstatKind(alias)
			a := pp
			a.Path = alias
			prot = append(prot, a)
		}
	}
	l.Protected = prot
	for _, path := range PathsToCheck(p, f) {
		l.Kinds[filepath.Clean(path)] = lstatKind(path)
	}
	for _, dir := range DirsToList(p, prot) {
		entries, err := listDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			l.Dirs[dir] = nil // nothing to grant; its parent is kept read-only
			continue
		}
		if err != nil {
			return Layout{}, fmt.Errorf("%w: listing %s to keep its protected entries read-only: %v", core.ErrPermission, dir, err)
		}
		l.Dirs[dir] = entries
	}
	// Landlock mode lets a command read everything but most of /dev
	// through a rule on each entry of / (see readAllButDev).
	if _, listed := l.Dirs["/"]; !listed && mode == ModeLandlock && p.Read.Mode != core.ReadRestricted {
		entries, err := listDir("/")
		if err != nil {
			return Layout{}, fmt.Errorf("%w: listing / for the read rules: %v", core.ErrPermission, err)
		}
		l.Dirs["/"] = entries
	}
	return l, nil
}

// listDir returns the entries of dir with their kinds.
func listDir(dir string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(des))
	for _, de := range des {
		entries = append(entries, Entry{Name: de.Name(), Kind: modeKind(de.Type())})
	}
	return entries, nil
}

// rootAliases returns a function that spells a path the way each writable
// root reached through a symlink (/home/u/ws -> /data/ws) names it, when
// the path is inside that root's real directory: /data/ws/src/gitdir is
// also /home/u/ws/src/gitdir. A path protected under one spelling only
// would be writable through a rule or bind of the root under the other.
func rootAliases(roots []string) func(string) []string {
	type named struct{ root, real string }
	var linked []named
	for _, r := range roots {
		if rr, err := filepath.EvalSymlinks(r); err == nil && rr != r {
			linked = append(linked, named{r, rr})
		}
	}
	return func(path string) []string {
		var out []string
		for _, n := range linked {
			if within(n.real, path) {
				out = append(out, filepath.Join(n.root, strings.TrimPrefix(path, n.real)))
			}
		}
		return out
	}
}

// danglingTarget walks the symlink link as the kernel would, following
// the links on the way, and returns the first path on the way that does
// not exist: while it is missing nothing beyond it can be reached, so it
// is what must not be created. ok is false when no write can go through
// link: a chain of more than 40 links (the kernel's limit), a step that
// is not a directory, or a step that cannot be read.
func danglingTarget(link string) (string, bool) {
	target, _, _, err := core.WalkLinks(link, nil)
	return target, err == nil
}

func lstatKind(path string) Kind {
	fi, err := os.Lstat(path)
	if err != nil {
		return KindMissing
	}
	return modeKind(fi.Mode().Type())
}

func modeKind(t fs.FileMode) Kind {
	switch {
	case t.IsDir():
		return KindDir
	case t&fs.ModeSymlink != 0:
		return KindSymlink
	case t.IsRegular():
		return KindFile
	default:
		return KindOther
	}
}
