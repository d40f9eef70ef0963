package core

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWalkLinks_ResolvesStopsAndReportsMissingSteps(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln := func(target, at string) {
		if err := os.Symlink(target, filepath.Join(dir, at)); err != nil {
			t.Fatal(err)
		}
	}
	mk("real/sub")
	mk("ws")
	ln(filepath.Join(dir, "real"), "abs")  // absolute link
	ln("real", "rel")                      // relative link
	ln(filepath.Join(dir, "rel"), "chain") // link to a link
	ln("ws/planted", "via")                // goes through ws/planted
	ln(filepath.Join(dir, "real"), "ws/planted")
	ln("loop2", "loop1")
	ln("loop1", "loop2")
	ln("nowhere/deeper", "dangling")

	inWS := func(_, d string) bool { return d == filepath.Join(dir, "ws") }
	for _, tc := range []struct {
		path        string
		stop        func(link, dir string) bool
		resolved    string
		missing     bool
		at          string
		errIsLoop   bool
		errExpected bool
	}{
		{path: "abs/sub", resolved: "real/sub"},
		{path: "rel/sub", resolved: "real/sub"},
		{path: "chain/sub/../sub", resolved: "real/sub"},
		{path: "dangling/x", resolved: "nowhere", missing: true},
		{path: "via/sub", resolved: "real/sub"},
		{path: "via/sub", stop: inWS, at: "ws/planted"},
		{path: "loop1/x", errIsLoop: true, errExpected: true},
	} {
		r, missing, at, err := WalkLinks(filepath.Join(dir, tc.path), tc.stop)
		abs := func(p string) string {
			if p == "" {
				return ""
			}
			return filepath.Join(dir, p)
		}
		if (err != nil) != tc.errExpected || (tc.errIsLoop && !errors.Is(err, ErrLinkLoop)) {
			t.Errorf("%s: err %v", tc.path, err)
			continue
		}
		if err == nil && (r != abs(tc.resolved) || missing != tc.missing || at != abs(tc.at)) {
			t.Errorf("%s: (%q, %v, %q), want (%q, %v, %q)", tc.path, r, missing, at, abs(tc.resolved), tc.missing, abs(tc.at))
		}
	}
}
