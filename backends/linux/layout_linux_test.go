//go:build linux

package linux

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDanglingTarget_IsTheFirstMissingStepAlongTheLinks(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	must(t, err)
	must(t, os.MkdirAll(dir+"/a/b", 0o755))
	must(t, os.WriteFile(dir+"/file", nil, 0o644))
	links := map[string]string{
		"rel":      "a/b/missing",        // relative to the link's directory
		"abs":      dir + "/a/b/missing", // absolute
		"deep":     "a/gone/b/missing",   // a missing directory on the way
		"chain":    "rel",                // a link to a dangling link
		"via-link": "a-link/b/missing",   // a link to a directory on the way
		"a-link":   "a",                  //
		"dotdot":   "a/b/../b/missing",   // ".." below an existing directory
		"loop":     "loop",               // no write can go through it
		"notdir":   "file/missing",       // nor through a file
	}
	for name, dest := range links {
		must(t, os.Symlink(dest, filepath.Join(dir, name)))
	}
	for _, tc := range []struct {
		link, want string
		ok         bool
	}{
		{"rel", dir + "/a/b/missing", true},
		{"abs", dir + "/a/b/missing", true},
		{"deep", dir + "/a/gone", true},
		{"chain", dir + "/a/b/missing", true},
		{"via-link", dir + "/a/b/missing", true},
		{"dotdot", dir + "/a/b/missing", true},
		{"loop", "", false},
		{"notdir", "", false},
	} {
		got, ok := danglingTarget(filepath.Join(dir, tc.link))
		if got != tc.want || ok != tc.ok {
			t.Errorf("danglingTarget(%s -> %s) = %q, %v; want %q, %v", tc.link, links[tc.link], got, ok, tc.want, tc.ok)
		}
	}
}

func TestRootAliases_ResolvedPathsInsideASymlinkedRootGetTheRootsSpelling(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	must(t, err)
	must(t, os.MkdirAll(dir+"/real/ws", 0o755))
	must(t, os.Symlink(dir+"/real", dir+"/link"))
	aliases := rootAliases([]string{dir + "/link/ws", "/"})
	for in, want := range map[string]string{
		dir + "/real/ws/src/gitdir": dir + "/link/ws/src/gitdir", // resolved: also spelled as the root is
		dir + "/real/ws":            dir + "/link/ws",
		dir + "/link/ws/.git":       "", // already in the root's spelling
		dir + "/real/other":         "", // in no symlinked root
	} {
		got := aliases(in)
		if (want == "" && len(got) != 0) || (want != "" && (len(got) != 1 || got[0] != want)) {
			t.Errorf("aliases(%s) = %q, want %q", in, got, want)
		}
	}
}
