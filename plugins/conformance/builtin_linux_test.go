package conformance_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sbxdev/sbx/backends/none"
	"github.com/sbxdev/sbx/plugins/conformance"
	"github.com/sbxdev/sbx/plugins/examples/bwrap"
)

// binDir holds the real plugin binaries and the probe program, built once.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sbx-conformance-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+"/",
		"github.com/sbxdev/sbx/cmd/sbx-backend-linux",
		"github.com/sbxdev/sbx/cmd/sbx-backend-none",
		"github.com/sbxdev/sbx/cmd/sbx-probe",
		"github.com/sbxdev/sbx/plugins/examples/bwrap/cmd/sbx-backend-bwrap")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binaries:", err)
		os.Exit(1)
	}
	os.Setenv("SBX_PROBE", filepath.Join(dir, "sbx-probe"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Each built-in Linux mode passes the suite through its real plugin
// binary; cases the host cannot run are skipped with the reason the
// backend gives.
func TestConformance_LinuxLandlock(t *testing.T) {
	conformance.Run(t, conformance.Target{Name: "linux-landlock", Plugin: filepath.Join(binDir, "sbx-backend-linux")})
}

func TestConformance_LinuxNamespaces(t *testing.T) {
	conformance.Run(t, conformance.Target{Name: "linux-namespaces", Plugin: filepath.Join(binDir, "sbx-backend-linux")})
}

func TestConformance_NonePlugin(t *testing.T) {
	conformance.Run(t, conformance.Target{Name: "none", Plugin: filepath.Join(binDir, "sbx-backend-none")})
}

// The in-process path: the same suite against a core.Backend value.
func TestConformance_NoneInProcess(t *testing.T) {
	conformance.Run(t, conformance.Target{Name: "none", Backend: none.New()})
}

// The example third-party backend (plugins/examples/bwrap) passes too. It
// reports itself unavailable, and the suite skips, where bwrap is not
// installed or cannot create namespaces (CI installs the bubblewrap
// package).
func TestConformance_ExampleBwrap(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap is not installed (apt-get install bubblewrap)")
	}
	conformance.Run(t, conformance.Target{Name: "bwrap", Plugin: filepath.Join(binDir, "sbx-backend-bwrap")})
}

// The example in process, as its author's own test would run it.
func TestConformance_ExampleBwrapInProcess(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap is not installed (apt-get install bubblewrap)")
	}
	conformance.Run(t, conformance.Target{Name: "bwrap", Backend: bwrap.New()})
}

// Without $SBX_PROBE the probe program is built for the test, in its
// temporary directory: nothing is left behind once the test ends.
func TestProbeProgram_BuiltIntoTheTestsTemporaryDirectory(t *testing.T) {
	t.Setenv("SBX_PROBE", "")
	var path string
	t.Run("build", func(t *testing.T) {
		path = conformance.ProbeProgram(t)
		if fi, err := os.Stat(path); err != nil || fi.Mode()&0o111 == 0 {
			t.Fatalf("probe program %s: %v", path, err)
		}
	})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the probe program %s is still there after its test: %v", path, err)
	}
}
