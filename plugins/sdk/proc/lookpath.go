package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sbxdev/sbx/core"
)

// resolve returns the executable to start for s: Path when set, Argv[0]
// when it has a path separator, else Argv[0] looked up in the PATH of the
// command's environment. os/exec would look in this process's PATH, which
// is not the command's when the policy rewrites the environment.
func resolve(s *Spec) (string, error) {
	if s.Path != "" {
		return s.Path, nil
	}
	name := s.Argv[0]
	if name == "" {
		return "", fmt.Errorf("%w: empty command name", core.ErrInvalidPolicy)
	}
	if strings.ContainsRune(name, '/') || (runtime.GOOS == "windows" && strings.ContainsAny(name, `\:`)) {
		return name, nil
	}
	return LookPath(name, s.Env)
}

// LookPath finds the command name (without a path separator) in the PATH
// of env, the command's environment (this process's PATH when env has
// none), the way every backend should: relative and empty PATH entries are
// skipped, so a command is never picked up from whatever directory it
// happens to start in. A name that is not found gives an error wrapping
// core.ErrNotFound that says what to do.
func LookPath(name string, env []string) (string, error) {
	pathList, ok := core.LookupEnv(env, "PATH")
	if !ok && runtime.GOOS == "windows" {
		pathList, ok = core.LookupEnv(env, "Path")
	}
	if !ok {
		pathList = os.Getenv("PATH")
	}
	if p, ok := lookPath(name, pathList, pathExts(name, env)); ok {
		return p, nil
	}
	return "", fmt.Errorf("%w: command %q not found in PATH (%s): install it, fix PATH, or give its full path",
		core.ErrNotFound, name, pathList)
}

// lookPath finds name in the directories of pathList. Relative entries
// (and empty ones, which mean ".") are skipped: a command must not be
// picked up from wherever the working directory happens to be.
func lookPath(name, pathList string, exts []string) (string, bool) {
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		base := filepath.Join(dir, name)
		for _, ext := range exts {
			if p := base + ext; isExecutable(p) {
				return p, true
			}
		}
	}
	return "", false
}

// pathExts lists the suffixes tried after a name: none on Unix; on Windows
// PATHEXT's, preceded by "" when the name already has an extension.
func pathExts(name string, env []string) []string {
	if runtime.GOOS != "windows" {
		return []string{""}
	}
	v, ok := core.LookupEnv(env, "PATHEXT")
	if !ok {
		v = os.Getenv("PATHEXT")
	}
	if v == "" {
		v = ".COM;.EXE;.BAT;.CMD"
	}
	var exts []string
	if filepath.Ext(name) != "" {
		exts = append(exts, "")
	}
	for _, e := range strings.Split(v, ";") {
		if e = strings.TrimSpace(e); e != "" {
			exts = append(exts, strings.ToLower(e))
		}
	}
	return exts
}

// isExecutable reports whether p is a regular file this OS would execute.
func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	if runtime.GOOS == "windows" {
		return true
	}
	return fi.Mode().Perm()&0o111 != 0
}
