package core

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrLinkLoop is returned by [WalkLinks] for a path with more symbolic links
// on the way than the kernel follows (40).
var ErrLinkLoop = errors.New("too many levels of symbolic links")

// WalkLinks resolves the absolute path p as the kernel does, one step at a
// time, following symbolic links (also inside the targets of earlier ones).
// stop, when not nil, sees each link met with the resolved directory it
// lies in; when it returns true the walk ends there and WalkLinks returns
// that link as at. Otherwise it returns the resolved path, with no link in
// it; or, when a step does not exist, that step (resolved) with missing set:
// while it is missing, nothing beyond it can be reached. An error means a
// step could not be read or is not a directory, or the links loop
// ([ErrLinkLoop]).
func WalkLinks(p string, stop func(link, dir string) bool) (resolved string, missing bool, at string, err error) {
	todo := strings.Split(p, "/")
	cur := "/" // resolved so far: a real directory, no link in it
	for hops := 0; len(todo) > 0; {
		step := todo[0]
		todo = todo[1:]
		switch step {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, step)
		fi, err := os.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return next, true, "", nil
		case err != nil:
			return "", false, "", err
		case fi.Mode()&fs.ModeSymlink == 0:
			cur = next
			continue
		}
		if stop != nil && stop(next, cur) {
			return "", false, next, nil
		}
		if hops++; hops > 40 {
			return "", false, "", &fs.PathError{Op: "resolve", Path: p, Err: ErrLinkLoop}
		}
		dest, err := os.Readlink(next)
		if err != nil {
			return "", false, "", err
		}
		if filepath.IsAbs(dest) {
			cur = "/"
		}
		todo = append(strings.Split(dest, "/"), todo...)
	}
	return cur, false, "", nil
}
