package darwin

import (
	"regexp"
	"strings"
	"testing"
)

func TestRegexQuote_EveryMetacharacterIsLiteral(t *testing.T) {
	for _, s := range []string{`\`, `^$.|?*+()[]{}`, "a.b", "x\ny", "ünï☃", `a"b`, "/private/tmp/[d]*"} {
		re, err := regexp.Compile("^" + regexQuote(s) + "$")
		if err != nil {
			t.Errorf("regexQuote(%q) = %q does not compile: %v", s, regexQuote(s), err)
			continue
		}
		if !re.MatchString(s) {
			t.Errorf("regexQuote(%q) = %q does not match itself", s, regexQuote(s))
		}
		// Replacing any byte of s must stop the match: nothing is a
		// wildcard.
		for i := 0; i < len(s); i++ {
			other := s[:i] + "Z" + s[i+1:]
			if other != s && re.MatchString(other) {
				t.Errorf("regexQuote(%q) matches %q", s, other)
			}
		}
	}
}

func TestNameRegex_MatchesEveryCaseAndFoldSpelling(t *testing.T) {
	tests := []struct {
		name  string
		match []string
		not   []string
	}{
		{".git", []string{".git", ".GIT", ".GiT", ".gIt"}, []string{"git", ".gi", ".gitx", "x.git", "-git", ".g1t"}},
		{".sbx.toml", []string{".sbx.toml", ".SBX.TOML", ".\u017Fbx.toml"}, []string{".sbxxtoml", ".sbx.tom"}},
		{".agents", []string{".agents", ".AGENTS", ".agent\u017F"}, []string{".agent"}},
		// Kelvin sign folds (and normalizes) to k.
		{"kit", []string{"kit", "KIT", "\u212Ait"}, []string{"Kit2"}},
		// Full case folding: ß and ẞ are "ss", ligatures are two or
		// three letters.
		{"mass", []string{"mass", "MASS", "ma\u00DF", "ma\u1E9E", "ma\u017Fs", "maS\u017F"}, []string{"mas", "ma\u00DFs"}},
		{"office", []string{"office", "OFFICE", "o\uFB03ce", "o\uFB00ice", "of\uFB01ce"}, []string{"ofice"}},
		{"first", []string{"first", "\uFB01rst", "fir\uFB05", "fir\uFB06", "\uFB01r\uFB06"}, []string{"firs"}},
		{"a;b", []string{"a;b", "A;B", "a\u037Eb"}, []string{"a:b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expr, err := nameRegex(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile("^" + expr + "$")
			for _, m := range tt.match {
				if !re.MatchString(m) {
					t.Errorf("nameRegex(%q) = %q does not match %q", tt.name, expr, m)
				}
			}
			for _, m := range tt.not {
				if re.MatchString(m) {
					t.Errorf("nameRegex(%q) = %q matches %q", tt.name, expr, m)
				}
			}
		})
	}
}

func TestNameRegex_NonASCIIMatchesExactBytesOnly(t *testing.T) {
	expr, err := nameRegex("ünï.d")
	if err != nil {
		t.Fatal(err)
	}
	if expr != `ü[nN]ï\.[dD]` {
		t.Errorf("nameRegex = %q, want the non-ASCII letters exact and the ASCII ones folded", expr)
	}
}

func TestNameRegex_RefusesNULAndExplosiveNames(t *testing.T) {
	if _, err := nameRegex("a\x00b"); err == nil {
		t.Error("name with NUL accepted")
	}
	// Every "ss" pair has an alternative: the expression grows like the
	// Fibonacci numbers and must be refused, quickly, not built.
	if _, err := nameRegex(strings.Repeat("s", 200)); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Errorf("err = %v, want a refusal", err)
	}
	// Long plain names stay linear.
	if expr, err := nameRegex(strings.Repeat("a", 255)); err != nil || len(expr) != 4*255 {
		t.Errorf("255 plain letters: len %d, err %v", len(expr), err)
	}
}

func TestFoldRegex_LinearForLongPathsWithManyFolds(t *testing.T) {
	// Every "ss", "st", "fi" here has an alternative; expanded together
	// they would be 2^n long. Cut into independent pieces they are not.
	root := "/Users/me/" + strings.Repeat("classes/first/staff/", 20)
	expr, err := foldRegex(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(expr) > 40*len(root) {
		t.Errorf("pattern of %d bytes for a %d-byte path", len(expr), len(root))
	}
	re := regexp.MustCompile("^" + expr + "$")
	for _, m := range []string{root, strings.ToUpper(root), strings.ReplaceAll(root, "ss", "\u00DF"), strings.ReplaceAll(root, "first", "\uFB01r\uFB06")} {
		if !re.MatchString(m) {
			t.Errorf("does not match %q", m)
		}
	}
}

func TestProtectedNameRegex_AnchoredToTheRoot(t *testing.T) {
	tests := []struct {
		root, name string
		match, not []string
	}{
		{"/Users/me/ws", ".git", []string{"/Users/me/ws/.git", "/Users/me/ws/.GIT/config", "/Users/me/ws/.Git/", "/users/ME/Ws/.git"}, []string{"/Users/me/ws/sub/.git", "/Users/me/wsx/.git", "/Users/me/ws/.gitignore", "/x/Users/me/ws/.git"}},
		{"/", ".git", []string{"/.git", "/.GIT/x"}, []string{"/a/.git", "//.git"}},
		{"/a.b", ".git", []string{"/a.b/.git"}, []string{"/aXb/.git"}},
		{"/a\nb", ".git", []string{"/a\nb/.git"}, []string{"/b/.git", "/a\n/.git"}},
	}
	for _, tt := range tests {
		expr, err := protectedNameRegex(tt.root, tt.name)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(expr)
		for _, m := range tt.match {
			if !re.MatchString(m) {
				t.Errorf("protectedNameRegex(%q, %q) = %q does not match %q", tt.root, tt.name, expr, m)
			}
		}
		for _, m := range tt.not {
			if re.MatchString(m) {
				t.Errorf("protectedNameRegex(%q, %q) = %q matches %q", tt.root, tt.name, expr, m)
			}
		}
	}
	if _, err := protectedNameRegex("/a\x00", ".git"); err == nil {
		t.Error("root with NUL accepted")
	}
}
