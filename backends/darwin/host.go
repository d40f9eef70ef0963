package darwin

import (
	"errors"
	"fmt"
	"io/fs"
	pathpkg "path"
	"strings"

	"github.com/sbxdev/sbx/core"
)

// Host is what the profile generator needs to know about the Mac a command
// will run on. [BuildPlan] is a pure function of a policy and a Host, so
// that tests (and `sbx explain` on Linux) can describe a Mac they are not
// running on.
type Host struct {
	// TempDirs are the temporary directories as the user names them:
	// "/tmp" and $TMPDIR. They are resolved with Resolve and made writable
	// when the policy sets WritableTmp.
	TempDirs []string
	// Resolve returns the name the kernel gives a path: symbolic links
	// resolved (/tmp → /private/tmp, /var → /private/var) and, on a real
	// Mac, the letter case stored on disk. Seatbelt matches the paths of
	// the files a command touches after the kernel resolved them, so a
	// rule on an unresolved path would never match. A path that does not
	// exist (yet) is resolved as far as it exists. Nil means
	// [MacOSLexicalResolve].
	Resolve func(path string) (string, error)
	// ReadFile and Stat are used to find protected paths (".git" files
	// that point at a git directory elsewhere; see core.ResolveProtected).
	// Nil means the local file system.
	ReadFile core.FileReader
	Stat     core.StatFunc
	// Home is the user's home directory. A temporary directory that is
	// "/", the home directory or one of its parents is refused rather than
	// made writable: $TMPDIR=$HOME would otherwise open the whole home
	// directory to writes. Empty skips the home check.
	Home string
	// UID is the user the command runs as. RLIMIT_NPROC does not bind
	// root, which changes what the report says about the pids limit.
	UID int
}

// macOSSymlinks are the top-level symbolic links of every macOS install
// that lead into /private.
var macOSSymlinks = []struct{ link, target string }{
	{"/tmp", "/private/tmp"},
	{"/var", "/private/var"},
	{"/etc", "/private/etc"},
}

// MacOSLexicalResolve resolves the symbolic links every macOS install has
// (/tmp, /var and /etc lead into /private) without touching the file
// system. It is the resolver of [BuildPlan] when none is given: on Linux,
// for `sbx explain`, and in tests.
func MacOSLexicalResolve(path string) (string, error) {
	if err := checkMacPath(path); err != nil {
		return "", err
	}
	path = pathpkg.Clean(path)
	for _, s := range macOSSymlinks {
		if path == s.link || strings.HasPrefix(path, s.link+"/") {
			return s.target + strings.TrimPrefix(path, s.link), nil
		}
	}
	return path, nil
}

// checkMacPath refuses what no resolver can name: a path with a NUL byte
// or a relative one.
func checkMacPath(path string) error {
	if strings.ContainsRune(path, 0) {
		return fmt.Errorf("path %q contains NUL", path)
	}
	if !pathpkg.IsAbs(path) {
		return fmt.Errorf("path %q is not absolute", path)
	}
	return nil
}

// resolveExisting resolves path with eval (filepath.EvalSymlinks, which
// fails for a path that does not exist): when the path does not exist, its
// longest existing ancestor is resolved and the missing components are
// appended, so that a protected name that does not exist yet is resolved
// like its directory.
func resolveExisting(path string, eval func(string) (string, error)) (string, error) {
	if err := checkMacPath(path); err != nil {
		return "", err
	}
	p := pathpkg.Clean(path)
	var missing []string
	for {
		r, err := eval(p)
		if err == nil {
			for i := len(missing) - 1; i >= 0; i-- {
				r = pathpkg.Join(r, missing[i])
			}
			return r, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("resolve %s: %w", path, err)
		}
		parent := pathpkg.Dir(p)
		if parent == p {
			return "", fmt.Errorf("resolve %s: %w", path, err)
		}
		missing = append(missing, pathpkg.Base(p))
		p = parent
	}
}

// within reports whether path is dir or lies beneath it. Both are clean
// absolute paths.
func within(path, dir string) bool {
	if dir == "/" {
		return true
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// withinFold is within ignoring letter case (ASCII and Unicode simple
// folding), for decisions where a case-insensitive volume could treat two
// spellings as the same directory.
func withinFold(path, dir string) bool {
	if dir == "/" {
		return true
	}
	if len(path) < len(dir) {
		return false
	}
	if !strings.EqualFold(path[:len(dir)], dir) {
		return false
	}
	return len(path) == len(dir) || path[len(dir)] == '/'
}
