package proc

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sbxdev/sbx/core"
)

func TestResolve_UsesTheCommandsPathAndSkipsRelativeEntries(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix executable bits")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(mustGetwd(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		s    Spec
		want string
		err  error
	}{
		{"found in Env's PATH", Spec{Argv: []string{"tool"}, Env: []string{"PATH=/nonexistent:" + dir}}, exe, nil},
		{"the last PATH wins", Spec{Argv: []string{"tool"}, Env: []string{"PATH=/nonexistent", "PATH=" + dir}}, exe, nil},
		{"relative entries are skipped", Spec{Argv: []string{"tool"}, Env: []string{"PATH=" + rel}}, "", core.ErrNotFound},
		{"not executable is not found", Spec{Argv: []string{"plain"}, Env: []string{"PATH=" + dir}}, "", core.ErrNotFound},
		{"a path is used as is", Spec{Argv: []string{"./x/tool"}, Env: []string{"PATH=" + dir}}, "./x/tool", nil},
		{"Path overrides Argv[0]", Spec{Path: "/bin/true", Argv: []string{"anything"}}, "/bin/true", nil},
		{"empty name", Spec{Argv: []string{""}}, "", core.ErrInvalidPolicy},
	} {
		got, err := resolve(&c.s)
		if got != c.want || !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("%s: got %q, %v; want %q, %v", c.name, got, err, c.want, c.err)
		}
	}
}

func mustGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
