package probe

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
)

// TestMain lets the test binary play the probe program's re-executed
// roles (the detached grandchild, the sleeping child).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case ArgSleep, argDetached1, argDetached2:
			os.Exit(Main(os.Args[1:], os.Stdout))
		}
	}
	os.Exit(m.Run())
}

func TestProbes_NamesAreUniqueAndEveryOneIsImplemented(t *testing.T) {
	seen := map[string]bool{}
	for _, pr := range Probes {
		if seen[pr.Name] {
			t.Errorf("probe %s listed twice", pr.Name)
		}
		seen[pr.Name] = true
		if pr.subject == nil || pr.Tries == "" {
			t.Errorf("probe %s lacks a subject or a description", pr.Name)
		}
		if r := attempt(pr.Name, &Config{}); r.Outcome == OutcomeError && r.Detail == "unknown probe" {
			t.Errorf("probe %s has no attempt", pr.Name)
		}
	}
}

func TestMain_BadArgumentsExit2AndNoopExits0(t *testing.T) {
	var out bytes.Buffer
	if code := Main(nil, &out); code != 2 {
		t.Errorf("no argument: exit %d, want 2", code)
	}
	if code := Main([]string{"{not json"}, &out); code != 2 {
		t.Errorf("bad config: exit %d, want 2", code)
	}
	if code := Main([]string{ArgNoop}, &out); code != 0 || out.Len() != 0 {
		t.Errorf("--noop: exit %d, output %q", code, out.String())
	}
}

func TestMain_PrintsOneJSONLinePerProbe(t *testing.T) {
	var out bytes.Buffer
	c := `{"workspace":"` + t.TempDir() + `","nonce":"n","only":["` + WriteOutside + `","` + TCP4Loopback + `"]}`
	if code := Main([]string{c}, &out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	got := ParseResults(out.Bytes())
	if len(got) != 2 || got[WriteOutside].Outcome != OutcomeSkipped || got[TCP4Loopback].Outcome != OutcomeSkipped {
		t.Fatalf("results = %+v, want both skipped for lack of an outside dir and a listener", got)
	}
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Fatalf("%d lines, want 2:\n%s", n, out.String())
	}
}

func TestParseResults_IgnoresNoise(t *testing.T) {
	got := ParseResults([]byte("sbx: downgrade\n{\"probe\":\"a\",\"outcome\":\"allowed\"}\nnot json\n{\"outcome\":\"blocked\"}\n"))
	if len(got) != 1 || got["a"].Outcome != OutcomeAllowed {
		t.Fatalf("ParseResults = %+v", got)
	}
}

// Unsandboxed, the network probes reach the harness's servers; against a
// closed port they are refused. This proves the probes and the servers
// speak to each other, so that "blocked" under a sandbox means the
// sandbox.
func TestNetworkProbes_ReachTheHarnessServersAndNotClosedPorts(t *testing.T) {
	start := func(listen func(string) (string, io.Closer, error), addr string) string {
		a, cl, err := listen(addr)
		if err != nil {
			t.Skipf("cannot listen on %s: %v", addr, err)
		}
		t.Cleanup(func() { cl.Close() })
		return a
	}
	c := &Config{Nonce: "n0nce"}
	c.TCP4 = start(listenTCPEcho, "127.0.0.1:0")
	c.UDP4 = start(listenUDPEcho, "127.0.0.1:0")
	c.HTTP = start(listenHTTP, "127.0.0.1:0")
	c.DNS = start(listenDNS, "127.0.0.1:0")
	t.Setenv("HTTP_PROXY", "")
	t.Setenv("http_proxy", "")
	for _, name := range []string{TCP4Loopback, UDP4Loopback, HTTPDirect, HTTPProxyEnv, DNSQuery} {
		if r := attempt(name, c); r.Outcome != OutcomeAllowed {
			t.Errorf("%s: %+v, want allowed", name, r)
		}
	}
	closed := closedPort(t)
	for name, r := range map[string]Result{
		TCP4Loopback: tcpProbe(closed, "x"),
		DNSQuery:     dnsProbe(&Config{DNS: closed}),
	} {
		if r.Outcome != OutcomeBlocked {
			t.Errorf("%s to a closed port: %+v, want blocked", name, r)
		}
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// The proxy-honouring client goes to the proxy the environment names (a
// dead one here, as an advisory backend sets it), the direct one does not.
func TestHTTPProbes_OnlyTheCooperativeOneUsesTheProxy(t *testing.T) {
	addr, cl, err := listenHTTP("127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	defer cl.Close()
	t.Setenv("HTTP_PROXY", "http://"+closedPort(t))
	t.Setenv("NO_PROXY", "")
	c := &Config{HTTP: addr, Nonce: "n"}
	if r := httpProbe(c, true); r.Outcome != OutcomeBlocked || !strings.Contains(r.Detail, "via the proxy") {
		t.Errorf("honouring the proxy: %+v, want blocked via the proxy", r)
	}
	if r := httpProbe(c, false); r.Outcome != OutcomeAllowed {
		t.Errorf("ignoring the proxy: %+v, want allowed", r)
	}
}

func TestDNSResponse_AnswersAQueriesOnly(t *testing.T) {
	// A query for "a.b" type A, class IN, with RD set.
	q := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 1, 'b', 0, 0, 1, 0, 1}
	r, err := dnsResponse(q)
	if err != nil {
		t.Fatal(err)
	}
	if r[0] != 0x12 || r[1] != 0x34 || r[2]&0x80 == 0 || r[7] != 1 || !bytes.HasSuffix(r, []byte{192, 0, 2, 53}) {
		t.Fatalf("response % x", r)
	}
	q[len(q)-3] = 28 // AAAA
	if r, _ := dnsResponse(q); r[7] != 0 {
		t.Fatalf("AAAA got an answer: % x", r)
	}
	if _, err := dnsResponse(q[:5]); err == nil {
		t.Fatal("a truncated query was answered")
	}
}

// Unsandboxed, every write and read probe gets through: the harness's
// outside directory, link and protected names are set up right.
func TestPrepare_UnsandboxedEveryFileProbeGetsThrough(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := core.DefaultPolicy("/unused")
	p.WritableTmp = false // so that the outside directory may be anywhere
	env, err := Prepare(p, self)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	c := env.Config
	if c.Outside == "" || c.ProtectedExisting != filepath.Join(c.Workspace, ".git") || c.ProtectedMissing == "" {
		t.Fatalf("config %+v", c)
	}
	names := []string{WriteWorkspace, WriteOutside, WriteProtected, CreateProtected, WriteSymlinkOut, ReadOutside}
	if c.SameDevice {
		names = append(names, WriteHardlinkOut)
	}
	if runtime.GOOS != "windows" {
		names = append(names, WriteDetached, SignalOutside)
	}
	for _, name := range names {
		if r := attempt(name, &c); r.Outcome != OutcomeAllowed {
			t.Errorf("%s: %+v, want allowed", name, r)
		}
	}
}

func TestChooseBase_OutsideIsOutsideTheWritableSet(t *testing.T) {
	p := core.DefaultPolicy(t.TempDir())
	base, ok := chooseBase(p)
	defer os.RemoveAll(base)
	if ok && under(base, writableSet(p)) {
		t.Fatalf("base %s is inside the writable set %v", base, writableSet(p))
	}
}

func TestUnder(t *testing.T) {
	dirs := []string{"/a/b", "/tmp"}
	for path, want := range map[string]bool{"/a/b": true, "/a/b/c": true, "/a/bc": false, "/a": false, "/tmp/x": true, "/var/tmp": false} {
		if got := under(path, dirs); got != want {
			t.Errorf("under(%s) = %v, want %v", path, got, want)
		}
	}
}

func TestProtectedNames_PrefersGitAndPicksAnotherMissing(t *testing.T) {
	for _, tt := range []struct {
		in                []string
		existing, missing string
	}{
		{core.DefaultProtectedNames, ".git", ".sbx.toml"},
		{[]string{".sbx", ".git"}, ".git", ".sbx"},
		{[]string{".x"}, ".x", ""},
		{nil, "", ""},
	} {
		e, m := protectedNames(tt.in)
		if e != tt.existing || m != tt.missing {
			t.Errorf("protectedNames(%v) = %q, %q; want %q, %q", tt.in, e, m, tt.existing, tt.missing)
		}
	}
}
