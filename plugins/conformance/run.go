package conformance

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/host"
)

// Target is the backend under test: in process (Backend) or a plugin
// binary served through plugins/host (Plugin), as sbx runs it.
type Target struct {
	// Name is the backend (mode) name.
	Name string
	// Backend is the backend itself, for an in-process test. When nil,
	// Plugin is used.
	Backend core.Backend
	// Plugin is the path of a plugin binary (sbx-backend-NAME) serving
	// Name.
	Plugin string
	// Probe is the sbx-probe program; when empty, $SBX_PROBE, else the
	// program is built for the test with `go build` (see ProbeProgram;
	// it needs the go tool and the sbx module in the test's module graph,
	// as it is when the test imports this package).
	Probe string
	// Timeout bounds the whole suite; 5 minutes when zero.
	Timeout time.Duration
}

// Run runs every case of the suite against target as subtests named
// after [Cases] ("default/write-outside"), skipping (with the reason)
// what the backend declares it does not hold.
func Run(t *testing.T, target Target) {
	t.Helper()
	timeout := target.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	b := target.Backend
	if b == nil {
		if target.Plugin == "" {
			t.Fatal("conformance.Target needs a Backend or a Plugin")
		}
		b = openPlugin(ctx, t, target.Plugin, target.Name)
	}
	probePath := target.Probe
	if probePath == "" {
		probePath = ProbeProgram(t)
	}
	results, err := Evaluate(ctx, target.Name, b, probePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Variants {
		t.Run(v.Name, func(t *testing.T) {
			for _, r := range results {
				if r.Case.Variant != v.Name {
					continue
				}
				t.Run(r.Case.Check, func(t *testing.T) {
					switch r.Status {
					case Skip:
						t.Skip(r.Reason)
					case Fail:
						t.Error(r.Reason)
					default:
						t.Log(r.Reason)
					}
				})
			}
		})
	}
}

// openPlugin starts the plugin at path through plugins/host, looking only
// in its directory, and opens backend name.
func openPlugin(ctx context.Context, t *testing.T, path, name string) core.Backend {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	h := host.New(host.Options{
		Dirs:   []string{filepath.Dir(abs)},
		Getenv: func(string) string { return "" }, // ignore $SBX_PLUGIN_PATH
		Stderr: testWriter{t},
	})
	t.Cleanup(func() { h.Close() })
	b, err := h.Open(ctx, name)
	if err != nil {
		t.Fatalf("open backend %s from %s: %v", name, abs, err)
	}
	if b.Plugin() != abs {
		t.Fatalf("backend %s was served by %s, not by %s (another plugin of that name is next to the test binary)", name, b.Plugin(), abs)
	}
	return b
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Logf("plugin: %s", p); return len(p), nil }

// ProbeProgram returns the sbx-probe program for tests: $SBX_PROBE when
// set, else one built with `go build` into the test's temporary directory
// (removed with it; ≈ 0.6 s with a warm build cache). A test binary that
// runs the suite many times can build it once in TestMain and set
// $SBX_PROBE, as this package's own tests do.
func ProbeProgram(t testing.TB) string {
	t.Helper()
	if v := os.Getenv("SBX_PROBE"); v != "" {
		return v
	}
	out := filepath.Join(t.TempDir(), "sbx-probe")
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", out, "github.com/sbxdev/sbx/cmd/sbx-probe")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("no sbx-probe program: go build sbx-probe: %v\n%s(set $SBX_PROBE to a built one)", err, b)
	}
	return out
}
