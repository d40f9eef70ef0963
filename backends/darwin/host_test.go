package darwin

import (
	"errors"
	"io/fs"
	"testing"
)

func TestMacOSLexicalResolve_PrivateLinks(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/tmp", "/private/tmp"},
		{"/tmp/", "/private/tmp"},
		{"/tmp/x/../y", "/private/tmp/y"},
		{"/var/folders/ab/T/", "/private/var/folders/ab/T"},
		{"/etc/hosts", "/private/etc/hosts"},
		{"/tmpfoo", "/tmpfoo"},
		{"/private/tmp", "/private/tmp"},
		{"/Users/me", "/Users/me"},
		{"/", "/"},
	}
	for _, tt := range tests {
		got, err := MacOSLexicalResolve(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("MacOSLexicalResolve(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"rel", "/a\x00b"} {
		if _, err := MacOSLexicalResolve(bad); err == nil {
			t.Errorf("MacOSLexicalResolve(%q) accepted", bad)
		}
	}
}

func TestResolveExisting_MissingTailAppendedToResolvedParent(t *testing.T) {
	// A fake file system where /link → /private/real and /private/real
	// exists; nothing below it does.
	eval := func(p string) (string, error) {
		switch p {
		case "/link":
			return "/private/real", nil
		case "/private/real", "/", "/private":
			return p, nil
		case "/loop":
			return "", errors.New("too many links")
		}
		return "", fs.ErrNotExist
	}
	tests := []struct{ in, want string }{
		{"/link", "/private/real"},
		{"/link/.git", "/private/real/.git"},
		{"/link/a/b/.git", "/private/real/a/b/.git"},
		{"/nothing/here", "/nothing/here"},
	}
	for _, tt := range tests {
		got, err := resolveExisting(tt.in, eval)
		if err != nil || got != tt.want {
			t.Errorf("resolveExisting(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := resolveExisting("/loop/x", eval); err == nil {
		t.Error("a resolution error other than not-exist was swallowed")
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		path, dir  string
		want, fold bool
	}{
		{"/a/b", "/a", true, true},
		{"/a", "/a", true, true},
		{"/ab", "/a", false, false},
		{"/a", "/a/b", false, false},
		{"/x", "/", true, true},
		{"/A/b", "/a", false, true},
		{"/a/.GIT/x", "/a/.git", false, true},
	}
	for _, tt := range tests {
		if got := within(tt.path, tt.dir); got != tt.want {
			t.Errorf("within(%q, %q) = %v", tt.path, tt.dir, got)
		}
		if got := withinFold(tt.path, tt.dir); got != tt.fold {
			t.Errorf("withinFold(%q, %q) = %v", tt.path, tt.dir, got)
		}
	}
}
