//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The JSON of `sbx compare --json`, as far as these tests read it.
type comparisonJSON struct {
	Explain bool `json:"explain"`
	Columns []struct {
		Backend     string  `json:"backend"`
		Unavailable string  `json:"unavailable"`
		StartupMS   float64 `json:"startup_ms"`
		Command     *struct {
			ExitCode int `json:"exit_code"`
		} `json:"command"`
		Cells []struct {
			Probe    string `json:"probe"`
			Verdict  string `json:"verdict"`
			Outcome  string `json:"outcome"`
			Detail   string `json:"detail"`
			Deny     bool   `json:"policy_denies"`
			Strength string `json:"strength"`
			Element  string `json:"element"`
			Note     string `json:"note"`
		} `json:"cells"`
	} `json:"columns"`
}

// hostMayBlock are the probes the host itself refuses to unprivileged
// users whatever the sandbox (raw sockets need CAP_NET_RAW; TIOCSTI on a
// terminal that is not the caller's needs CAP_SYS_ADMIN; ptrace is limited
// by Yama): an unsandboxed run may see them blocked.
var hostMayBlock = map[string]bool{"raw-socket": true, "tiocsti": true, "ptrace-outside": true, "af-netlink": true}

var (
	bwrapOnce sync.Once
	bwrapDir  string
	bwrapErr  string
)

// bwrapPlugins builds the example bwrap plugin into a directory of its own
// (for $SBX_PLUGIN_PATH, as a third-party plugin is installed) and returns
// it, or skips when bwrap is not installed.
func bwrapPlugins(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap is not installed (apt-get install bubblewrap): the example backend cannot be compared")
	}
	bwrapOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sbx-e2e-bwrap-")
		if err != nil {
			bwrapErr = err.Error()
			return
		}
		out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/sbxdev/sbx/plugins/examples/bwrap/cmd/sbx-backend-bwrap").CombinedOutput()
		if err != nil {
			bwrapErr = err.Error() + "\n" + string(out)
			return
		}
		bwrapDir = dir
	})
	if bwrapDir == "" {
		t.Fatalf("building the bwrap example plugin: %s", bwrapErr)
	}
	return bwrapDir
}

// compareJSON runs `sbx compare --json` with args and decodes it.
func compareJSON(t *testing.T, ws string, env []string, args ...string) (comparisonJSON, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := sbx(t, ws, append([]string{"compare", "--json"}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := exitCode(t, cmd.Run())
	var c comparisonJSON
	if err := json.Unmarshal(stdout.Bytes(), &c); err != nil {
		t.Fatalf("sbx compare --json (exit %d): %v\nstdout: %s\nstderr: %s", code, err, stdout.String(), stderr.String())
	}
	return c, code, stderr.String()
}

// The acceptance test: on this machine none lets everything
// through, and both Linux modes (and the bwrap example, when bwrap is
// installed) block every probe the policy denies. A FAILED cell fails the
// test wherever it is.
func TestCompare_LinuxModesBlockEveryProbeThePolicyDenies(t *testing.T) {
	backends := "none,linux-landlock,linux-namespaces"
	var env []string
	withBwrap := false
	if _, err := exec.LookPath("bwrap"); err == nil {
		env = append(env, "SBX_PLUGIN_PATH="+bwrapPlugins(t))
		backends += ",bwrap"
		withBwrap = true
	}
	c, code, stderr := compareJSON(t, t.TempDir(), env, "--backends="+backends)
	if code != 0 {
		t.Errorf("exit %d, want 0; stderr: %s", code, stderr)
	}
	if len(c.Columns) != strings.Count(backends, ",")+1 {
		t.Fatalf("%d columns for %s", len(c.Columns), backends)
	}
	for _, col := range c.Columns {
		t.Run(col.Backend, func(t *testing.T) {
			if col.Unavailable != "" {
				if col.Backend == "none" {
					t.Fatalf("none is unavailable: %s", col.Unavailable)
				}
				t.Skipf("%s cannot run on this host: %s", col.Backend, col.Unavailable)
			}
			if len(col.Cells) < 15 || col.StartupMS <= 0 {
				t.Fatalf("%d cells, startup %vms", len(col.Cells), col.StartupMS)
			}
			for _, cell := range col.Cells {
				what := cell.Probe + ": " + cell.Verdict + " (" + cell.Detail + ") [" + cell.Element + " " + cell.Strength + ": " + cell.Note + "]"
				switch {
				case cell.Verdict == "FAILED":
					t.Errorf("FAILED: %s", what)
				case cell.Verdict == "error":
					t.Errorf("probe error: %s", what)
				case cell.Verdict == "n/a":
					t.Logf("not applicable here: %s", what)
				case col.Backend == "none":
					if cell.Verdict != "allowed" && cell.Verdict != "allowed (absent)" && !(hostMayBlock[cell.Probe] && strings.HasPrefix(cell.Verdict, "blocked")) {
						t.Errorf("none should let everything through: %s", what)
					}
				case !cell.Deny:
					if cell.Verdict != "allowed" && !hostMayBlock[cell.Probe] {
						t.Errorf("the policy allows it, the backend refused it: %s", what)
					}
				case cell.Strength == "absent" && col.Backend == "bwrap" && cell.Probe == "create-protected":
					// The example admits it: a bind mount cannot keep a
					// missing name from being created.
					if cell.Verdict != "allowed (absent)" && cell.Verdict != "blocked" {
						t.Errorf("bwrap: %s", what)
					}
				case cell.Verdict != "blocked":
					t.Errorf("the policy denies it, the backend let it through: %s", what)
				}
			}
		})
	}
	if withBwrap && c.Columns[3].Unavailable != "" {
		t.Logf("bwrap is installed but cannot run here: %s", c.Columns[3].Unavailable)
	}
}

// The Windows modes compared from their plans alone, on Linux: network
// probes leak under the unelevated mode (advisory) except for the tool
// that honours the proxy variables, and are blocked under the elevated one.
func TestCompare_ExplainComparesWindowsModesFromPlans(t *testing.T) {
	c, code, stderr := compareJSON(t, t.TempDir(), nil, "--explain", "--backends=windows-unelevated,windows-elevated")
	if code != 0 || !c.Explain || len(c.Columns) != 2 {
		t.Fatalf("exit %d, %+v; stderr: %s", code, c, stderr)
	}
	want := map[string]map[string]string{
		"windows-unelevated": {"tcp-127.0.0.1": "would leak", "udp-127.0.0.1": "would leak", "dns-udp-query": "would leak",
			"http-ignoring-proxy": "would leak", "http-honouring-proxy": "would block (advisory)", "write-workspace": "allowed"},
		"windows-elevated": {"tcp-127.0.0.1": "would block", "udp-127.0.0.1": "would block", "dns-udp-query": "would block",
			"http-ignoring-proxy": "would block", "http-honouring-proxy": "would block", "write-outside": "would block"},
	}
	for _, col := range c.Columns {
		if col.Unavailable != "" {
			t.Errorf("%s: %s", col.Backend, col.Unavailable)
			continue
		}
		got := map[string]string{}
		for _, cell := range col.Cells {
			got[cell.Probe] = cell.Verdict
		}
		if _, ok := got["tiocsti"]; ok {
			t.Errorf("%s: Linux-only probes predicted for Windows", col.Backend)
		}
		for probe, v := range want[col.Backend] {
			if got[probe] != v {
				t.Errorf("%s %s = %q, want %q", col.Backend, probe, got[probe], v)
			}
		}
	}
}

// The Markdown table, and the user's own command run and timed under each
// backend.
func TestCompare_MarkdownWithTheUsersCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cmd := sbx(t, t.TempDir(), "compare", "--markdown", "--backends=none,linux-namespaces", "--", "/bin/sh", "-c", "exit 3")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"| probe | none | linux-namespaces |", "| `write-outside` | allowed (absent) |", "| `startup` |", "| `command` | exit 3, "} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

// The example plugin is found through $SBX_PLUGIN_PATH and listed, and
// `sbx conformance` passes it.
func TestBwrapExample_FoundThroughThePluginPathAndConforms(t *testing.T) {
	dir := bwrapPlugins(t)
	ws := t.TempDir()
	var out bytes.Buffer
	cmd := sbx(t, ws, "backends")
	cmd.Env = append(cmd.Env, "SBX_PLUGIN_PATH="+dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if code := exitCode(t, cmd.Run()); code != 0 || !strings.Contains(out.String(), "plugin: "+filepath.Join(dir, "sbx-backend-bwrap")) {
		t.Fatalf("sbx backends (exit %d) does not list the bwrap plugin:\n%s", code, out.String())
	}
	out.Reset()
	cmd = sbx(t, ws, "--backend=bwrap", "conformance")
	cmd.Env = append(cmd.Env, "SBX_PLUGIN_PATH="+dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("sbx conformance --backend=bwrap: exit %d\n%s", code, out.String())
	}
}
