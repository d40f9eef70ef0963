package darwin

import (
	"flag"
	"fmt"
	"os"
	pathpkg "path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sbxdev/sbx/core"
)

var update = flag.Bool("update", false, "rewrite the golden profiles in testdata/")

// fakeFS is a file system of .git files for core.ResolveProtected: path →
// content. Everything else does not exist.
type fakeFS map[string]string

func (f fakeFS) read(path string) ([]byte, error) {
	if c, ok := f[path]; ok {
		return []byte(c), nil
	}
	return nil, os.ErrNotExist
}

func (f fakeFS) stat(path string) (bool, bool) {
	_, ok := f[path]
	return ok, false
}

// testHost is a Mac with a user "me", /tmp and a per-user $TMPDIR, and
// the standard /tmp, /var and /etc links; fs holds its .git files.
func testHost(fs fakeFS) Host {
	return Host{
		TempDirs: []string{"/tmp", "/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/"},
		Resolve:  MacOSLexicalResolve,
		ReadFile: fs.read,
		Stat:     fs.stat,
		Home:     "/Users/me",
		UID:      501,
	}
}

// goldenCases are the policies whose profiles are kept in testdata/*.sb.
var goldenCases = []struct {
	name string
	pol  func() core.Policy
	fs   fakeFS
	opts Options
}{
	{name: "default", pol: func() core.Policy { return core.DefaultPolicy("/Users/me/ws") }},
	{name: "read-only", pol: func() core.Policy {
		p := core.DefaultPolicy("/Users/me/ws")
		p.ReadOnly = true
		p.WritableTmp = false
		return p
	}},
	{name: "restricted-reads", pol: func() core.Policy {
		p := core.DefaultPolicy("/Users/me/ws")
		p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{"/Users/me/.gitconfig", "/Users/me/data"}}
		return p
	}},
	{name: "network-allow", pol: func() core.Policy {
		p := core.DefaultPolicy("/Users/me/ws")
		p.Network.Mode = core.NetworkAllow
		return p
	}},
	{name: "extra-roots", pol: func() core.Policy {
		p := core.DefaultPolicy("/Users/me/ws")
		p.WritableRoots = []string{"/Users/me/.cache/go-build", "/tmp/build", "/Users/me/ws/sub"}
		return p
	}, fs: fakeFS{
		// The workspace is a git worktree of /Users/me/main.
		"/Users/me/ws/.git":                          "gitdir: /Users/me/main/.git/worktrees/ws\n",
		"/Users/me/main/.git/worktrees/ws/commondir": "../..\n",
	}},
	{name: "git-writable", pol: func() core.Policy {
		// An explicit writable root inside a protected path wins there.
		p := core.DefaultPolicy("/Users/me/ws")
		p.WritableRoots = []string{"/Users/me/ws/.git"}
		return p
	}},
	{name: "weird-paths", pol: func() core.Policy {
		p := core.DefaultPolicy("/Users/me/we\"ird) (allow default) (\\ \n ünï ☃")
		p.WritableRoots = []string{`/tmp/a"b/(c)/[d]*.+?^$|{e}`}
		p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{"/Users/me/\"))(allow file-read*"}}
		p.Protected = []string{".git", ".GITHUB", "ßtuff", ".s(x)"}
		return p
	}},
	{name: "proxy-port", pol: func() core.Policy { return core.DefaultPolicy("/Users/me/ws") }, opts: Options{LoopbackProxyPort: 3128}},
	{name: "limits", pol: func() core.Policy {
		p := core.DefaultPolicy("/Users/me/ws")
		p.Limits = core.Limits{Timeout: 90e9, MemoryBytes: 1 << 30, Pids: 64, CPU: 2}
		return p
	}},
}

// goldenText is what a golden file holds: the profile, then its
// parameters as comments (quoted, so newlines stay on one line).
func goldenText(prof *Profile) string {
	var b strings.Builder
	b.WriteString(prof.Text)
	b.WriteString("\n; Parameters (sandbox-exec -D NAME=VALUE), values Go-quoted:\n")
	for _, p := range prof.Params {
		fmt.Fprintf(&b, "; %s=%q\n", p.Name, p.Value)
	}
	return b.String()
}

func TestProfile_Golden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tc.name == "weird-paths" {
				t.Skip("core cleans paths with Windows separators, turning the backslashes of this Mac path into slashes")
			}
			_, prof, err := BuildPlan(Name, tc.pol(), testHost(tc.fs), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := goldenText(prof)
			file := filepath.Join("testdata", tc.name+".sb")
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run `go test ./backends/darwin -update` to create it)", err)
			}
			if got != string(want) {
				t.Errorf("profile differs from %s (run with -update if the change is intended):\n%s", file, got)
			}
			checkWellFormed(t, prof)
		})
	}
}

// checkWellFormed checks that prof parses as balanced s-expressions with
// prof.Rules top-level forms, that every parameter it refers to is passed
// and every parameter passed is referred to, and that no string literal in
// the text is a parameter's value (paths never reach the text).
func checkWellFormed(t *testing.T, prof *Profile) {
	t.Helper()
	forms, err := parseSBPL(prof.Text)
	if err != nil {
		t.Fatalf("profile does not parse: %v\n%s", err, prof.Text)
	}
	if len(forms) != prof.Rules {
		t.Errorf("profile has %d top-level forms, want %d", len(forms), prof.Rules)
	}
	refs := map[string]bool{}
	for _, r := range paramRefs(forms) {
		refs[r] = true
		if _, ok := prof.Lookup(r); !ok {
			t.Errorf("profile refers to parameter %s, which is not passed", r)
		}
	}
	literals := map[string]bool{}
	for _, s := range stringsIn(forms) {
		literals[s] = true
	}
	for _, p := range prof.Params {
		if !refs[p.Name] {
			t.Errorf("parameter %s is passed but not used", p.Name)
		}
		if literals[p.Value] {
			t.Errorf("parameter value %q of %s appears as a literal in the profile", p.Value, p.Name)
		}
	}
}

// TestProfile_WeirdPathsCannotChangeProfile proves that paths with quotes,
// parentheses, backslashes, newlines and non-ASCII characters change no
// byte of the profile text: it is the same as for plain paths, and the
// paths arrive intact as parameters.
func TestProfile_WeirdPathsCannotChangeProfile(t *testing.T) {
	plain := func(ws, root, read string) core.Policy {
		p := core.DefaultPolicy(ws)
		p.WritableRoots = []string{root}
		p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{read}}
		return p
	}
	_, base, err := BuildPlan(Name, plain("/Users/me/ws", "/Users/me/out", "/Users/me/in"), testHost(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, seg string }{
		{"double quote", `a"b`},
		{"quote and paren injection", `x") (allow default) ("`},
		{"closing parens", `)))`},
		{"backslash", `a\b\"c`},
		{"newline", "a\nb"},
		{"carriage return and tab", "a\r\tb"},
		{"semicolon comment", "a ; (allow default)"},
		{"hash regex literal", `#"^/"`},
		{"non-ASCII", "ünïcødé ☃ 日本"},
		{"invalid UTF-8", "a\xff\xfeb"},
		{"regex metacharacters", `.*+?^$|()[]{}\`},
		{"spaces", "  a  b  "},
		{"looks like a param", `(param "WRITABLE_ROOT_0")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && strings.Contains(tt.seg, `\`) {
				t.Skip("core cleans paths with Windows separators")
			}
			ws := "/Users/me/ws" + tt.seg
			root := "/Users/me/out/" + tt.seg
			read := "/Users/me/in/" + tt.seg
			_, prof, err := BuildPlan(Name, plain(ws, root, read), testHost(nil), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if prof.Text != base.Text {
				t.Fatalf("profile text changed with path segment %q:\n%s", tt.seg, prof.Text)
			}
			for name, want := range map[string]string{"WRITABLE_ROOT_0": pathpkg.Clean(ws), "WRITABLE_ROOT_1": pathpkg.Clean(root), "READABLE_ROOT_0": pathpkg.Clean(read)} {
				if got, _ := prof.Lookup(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			checkWellFormed(t, prof)
			checkProtectedRegex(t, prof, "PROTECTED_NAME_RE_0", pathpkg.Clean(ws), ".git")
		})
	}
}

// checkProtectedRegex checks, with Go's regexp (whose syntax agrees with
// POSIX ERE on everything sbx emits), that the regular expression param
// matches root/name in other letter cases and what is beneath it, and
// nothing else nearby.
func checkProtectedRegex(t *testing.T, prof *Profile, param, root, name string) {
	t.Helper()
	expr, ok := prof.Lookup(param)
	if !ok {
		t.Fatalf("no parameter %s", param)
	}
	if !utf8.ValidString(root) {
		return // Go's regexp works on UTF-8 only; Seatbelt's on bytes.
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		t.Fatalf("%s = %q does not compile: %v", param, expr, err)
	}
	upper := strings.ToUpper(name)
	mixed := strings.ToUpper(name[:len(name)/2]) + name[len(name)/2:]
	for _, p := range []string{root + "/" + name, root + "/" + upper, root + "/" + mixed, root + "/" + name + "/hooks/pre-commit", root + "/" + upper + "/x"} {
		if !re.MatchString(p) {
			t.Errorf("%s = %q does not match %q", param, expr, p)
		}
	}
	for _, p := range []string{root + "/" + name + "x", root + "x/" + name, root + "/sub/" + name, root + "/x" + name, "/elsewhere/" + name} {
		if re.MatchString(p) {
			t.Errorf("%s = %q matches %q, which is not protected", param, expr, p)
		}
	}
}

// FuzzProfile feeds random path segments into a policy and checks that the
// profile text does not change at all, that it stays a balanced
// s-expression with the same rule count, that the paths arrive intact as
// parameters, and that the protected-name regular expression matches
// exactly the protected names of that root. A NUL byte must be refused.
func FuzzProfile(f *testing.F) {
	for _, s := range []string{"x", `a"b`, "a\nb", `)(allow default)(`, `\`, "ü", ".*", "../r/y", "", "\x00"} {
		f.Add(s, s)
	}
	policy := func(a, b string) core.Policy {
		p := core.DefaultPolicy("/fz/w/" + a)
		p.WritableRoots = []string{"/fz/r/" + b}
		p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{"/fz/read/" + a}}
		return p
	}
	_, base, err := BuildPlan(Name, policy("x", "y"), testHost(nil), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		p := policy(a, b)
		_, prof, err := BuildPlan(Name, p, testHost(nil), Options{})
		if runtime.GOOS == "windows" && strings.Contains(a+b, `\`) {
			t.Skip("core cleans paths with Windows separators")
		}
		if strings.ContainsRune(a+b, 0) {
			if err == nil {
				t.Fatalf("path with NUL accepted")
			}
			return
		}
		ws, root, read := pathpkg.Clean(p.Workspace), pathpkg.Clean(p.WritableRoots[0]), pathpkg.Clean(p.Read.Paths[0])
		// Paths that clean to somewhere else ("../r/y") change which
		// directories nest, hence the profile's shape: not this test.
		if !strings.HasPrefix(ws, "/fz/w/") || !strings.HasPrefix(root, "/fz/r/") || !strings.HasPrefix(read, "/fz/read/") {
			t.Skip()
		}
		if err != nil {
			t.Fatal(err)
		}
		if prof.Text != base.Text {
			t.Fatalf("profile text changed for %q, %q", a, b)
		}
		if prof.Rules != base.Rules {
			t.Fatalf("rule count %d, want %d", prof.Rules, base.Rules)
		}
		checkWellFormed(t, prof)
		for name, want := range map[string]string{"WRITABLE_ROOT_0": ws, "WRITABLE_ROOT_1": root, "READABLE_ROOT_0": read} {
			if got, _ := prof.Lookup(name); got != want {
				t.Fatalf("%s = %q, want %q", name, got, want)
			}
		}
		checkProtectedRegex(t, prof, "PROTECTED_NAME_RE_0", ws, ".git")
	})
}

// TestProfile_ProtectedExcludedFromEveryGrantContainingIt checks the
// structure of the write rule: a protected path is excluded from every
// grant it lies in (its own root, an enclosing root, the temporary
// directory), and from no other.
func TestProfile_ProtectedExcludedFromEveryGrantContainingIt(t *testing.T) {
	p := core.DefaultPolicy("/tmp/ws")
	p.Protected = []string{".git"}
	p.WritableRoots = []string{"/tmp/ws/inner", "/Users/me/other"}
	_, prof, err := BuildPlan(Name, p, testHost(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := resolvePolicy(p, testHost(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	paramOf := func(path string) string {
		for _, pp := range r.protPaths {
			if pp.path == path {
				return pp.param
			}
		}
		t.Fatalf("no protected path %s", path)
		return ""
	}
	grantOf := func(path string) grant {
		for _, g := range r.grants {
			if g.path == path {
				return g
			}
		}
		t.Fatalf("no grant %s", path)
		return grant{}
	}
	has := func(g grant, param string) bool {
		for _, f := range r.exclusions(g) {
			if strings.Contains(f, `"`+param+`"`) {
				return true
			}
		}
		return false
	}
	wsGit, innerGit, otherGit := paramOf("/private/tmp/ws/.git"), paramOf("/private/tmp/ws/inner/.git"), paramOf("/Users/me/other/.git")
	ws, inner, other, tmp := grantOf("/private/tmp/ws"), grantOf("/private/tmp/ws/inner"), grantOf("/Users/me/other"), grantOf("/private/tmp")
	tests := []struct {
		g     grant
		param string
		want  bool
	}{
		{ws, wsGit, true}, {ws, innerGit, true}, {ws, otherGit, false},
		{inner, innerGit, true}, {inner, wsGit, false},
		{other, otherGit, true}, {other, wsGit, false},
		{tmp, wsGit, true}, {tmp, innerGit, true}, {tmp, otherGit, false},
	}
	for _, tt := range tests {
		if got := has(tt.g, tt.param); got != tt.want {
			t.Errorf("grant %s excludes %s: %v, want %v", tt.g.path, tt.param, got, tt.want)
		}
	}
	if !strings.Contains(prof.Text, `(require-all (subpath (param "TMP_DIR_0"))`) {
		t.Errorf("temporary directory grant has no exclusions:\n%s", prof.Text)
	}
}

// TestProfile_ReadModes checks what each read mode allows.
func TestProfile_ReadModes(t *testing.T) {
	p := core.DefaultPolicy("/Users/me/ws")
	_, all, err := BuildPlan(Name, p, testHost(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(all.Text, "(allow file-read* file-map-executable)\n") {
		t.Errorf("read-all profile does not allow all reads:\n%s", all.Text)
	}
	p.Read = core.ReadPolicy{Mode: core.ReadRestricted, Paths: []string{"/Users/me/data"}}
	_, restricted, err := BuildPlan(Name, p, testHost(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(restricted.Text, "(allow file-read* file-map-executable)\n") {
		t.Errorf("restricted profile allows all reads")
	}
	for _, want := range []string{`(subpath "/System")`, `(subpath "/usr")`, `(literal "/dev/urandom")`, `(subpath (param "READABLE_ROOT_0"))`, `(subpath (param "WRITABLE_ROOT_0"))`, `(subpath (param "TMP_DIR_0"))`, `(path-ancestors (param "READABLE_ROOT_0"))`} {
		if !strings.Contains(restricted.Text, want) {
			t.Errorf("restricted profile lacks %s", want)
		}
	}
	if strings.Contains(restricted.Text, `"/Users`) {
		t.Errorf("restricted profile grants a home directory path as a literal")
	}
}

// TestProfile_NetworkModes checks the network rules of each mode.
func TestProfile_NetworkModes(t *testing.T) {
	tests := []struct {
		name    string
		mode    core.NetworkMode
		port    int
		want    []string
		notWant []string
	}{
		{"deny has no network rule", core.NetworkDeny, 0, nil, []string{"(allow network-", "(allow system-socket)\n"}},
		{"allow opens everything", core.NetworkAllow, 0, []string{"(allow network-outbound)\n", "(allow network-inbound)\n", "(allow network-bind)\n", `(global-name "com.apple.dnssd.service")`}, nil},
		{"proxy port is loopback only", core.NetworkDeny, 8080, []string{`(remote ip "localhost:8080")`}, []string{"(allow network-outbound)\n", "(allow network-inbound", "(allow network-bind", "dnssd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := core.DefaultPolicy("/Users/me/ws")
			p.Network.Mode = tt.mode
			_, prof, err := BuildPlan(Name, p, testHost(nil), Options{LoopbackProxyPort: tt.port})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(prof.Text, w) {
					t.Errorf("profile lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(prof.Text, w) {
					t.Errorf("profile has %q", w)
				}
			}
		})
	}
}

// TestProfile_TempDirsResolved checks that /tmp and $TMPDIR become the
// paths the kernel reports (/private/...), without a trailing slash and
// without duplicates.
func TestProfile_TempDirsResolved(t *testing.T) {
	h := testHost(nil)
	h.TempDirs = append(h.TempDirs, "/private/tmp/", "")
	_, prof, err := BuildPlan(Name, core.DefaultPolicy("/Users/me/ws"), h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Param{{"TMP_DIR_0", "/private/tmp"}, {"TMP_DIR_1", "/private/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T"}}
	var got []Param
	for _, p := range prof.Params {
		if strings.HasPrefix(p.Name, paramTempDir) {
			got = append(got, p)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("temporary directories %v, want %v", got, want)
	}
	if _, ok := prof.Lookup("TMP_DIR_2"); ok {
		t.Errorf("duplicate temporary directory")
	}
	p := core.DefaultPolicy("/Users/me/ws")
	p.WritableTmp = false
	_, prof, err = BuildPlan(Name, p, h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := prof.Lookup("TMP_DIR_0"); ok {
		t.Errorf("temporary directory writable with writable_tmp = false")
	}
}

// TestProfile_HostileTmpdirRefused checks that a $TMPDIR of "/" or one
// containing the home directory is refused, not made writable.
func TestProfile_HostileTmpdirRefused(t *testing.T) {
	for _, tmp := range []string{"/", "/Users", "/Users/me", "/Users/me/"} {
		h := testHost(nil)
		h.TempDirs = []string{"/tmp", tmp}
		_, _, err := BuildPlan(Name, core.DefaultPolicy("/Users/me/ws"), h, Options{})
		if err == nil || !strings.Contains(err.Error(), "home directory") {
			t.Errorf("TMPDIR=%s: err = %v, want a refusal", tmp, err)
		}
	}
	h := testHost(nil)
	h.TempDirs = []string{"/Users/me/tmp"}
	if _, _, err := BuildPlan(Name, core.DefaultPolicy("/Users/me/ws"), h, Options{}); err != nil {
		t.Errorf("TMPDIR inside the home directory refused: %v", err)
	}
}
