//go:build linux

package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

// pluginDir holds the plugin binaries built once for all tests.
var (
	buildOnce sync.Once
	pluginDir string
	buildErr  error
)

// buildPlugins builds sbx-backend-none and the wrong-protocol test plugin.
func buildPlugins(t testing.TB) string {
	t.Helper()
	dir, err := buildPluginsOnce()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func buildPluginsOnce() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sbx-host-test-")
		if err != nil {
			buildErr = err
			return
		}
		pluginDir = dir
		for pkg, out := range map[string]string{
			"github.com/sbxdev/sbx/cmd/sbx-backend-none":           "sbx-backend-none",
			"github.com/sbxdev/sbx/plugins/host/testdata/badproto": "sbx-backend-badproto",
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, out), pkg)
			if b, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
				return
			}
		}
	})
	return pluginDir, buildErr
}

func newHost(t *testing.T, o Options) *Host {
	t.Helper()
	dir := buildPlugins(t)
	o.Getenv = func(k string) string {
		if k == EnvPluginPath {
			return dir
		}
		return ""
	}
	h := New(o)
	t.Cleanup(func() { h.Close() })
	return h
}

func bestEffortReq(t *testing.T, argv ...string) *core.RunRequest {
	t.Helper()
	p := core.DefaultPolicy(t.TempDir())
	return &core.RunRequest{
		Policy: p,
		Accept: core.Acceptance{BestEffort: true},
		Argv:   argv,
		Env:    os.Environ(),
	}
}

func TestRun_ExitStatusIsExact(t *testing.T) {
	h := newHost(t, Options{})
	tests := []struct {
		name   string
		script string
		code   int
		sig    core.Signal
	}{
		{"Zero", "exit 0", 0, 0},
		{"One", "exit 1", 1, 0},
		{"FortyTwo", "exit 42", 42, 0},
		{"SignalDeathIs128PlusN", "kill -TERM $$", 128 + 15, core.SIGTERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.Run(context.Background(), "none", bestEffortReq(t, "/bin/sh", "-c", tt.script))
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.code || res.Signal != tt.sig {
				t.Fatalf("exit = %d signal %d, want %d signal %d", res.ExitCode, res.Signal, tt.code, tt.sig)
			}
		})
	}
}

// Both stdio paths must carry the same bytes: descriptors handed over
// (files) and streamed messages (buffers, or StdioStream).
func TestRun_StdioBothPathsAreByteExact(t *testing.T) {
	const size = 8 << 20
	outData, errData := randomBytes(t, size), randomBytes(t, size)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	must(t, os.WriteFile(a, outData, 0o600))
	must(t, os.WriteFile(b, errData, 0o600))
	script := fmt.Sprintf("cat %s & cat %s >&2; wait", a, b)

	for _, mode := range []StdioMode{StdioAuto, StdioStream} {
		t.Run("Buffers/"+string(mode), func(t *testing.T) {
			h := newHost(t, Options{Stdio: mode})
			var stdout, stderr bytes.Buffer
			req := bestEffortReq(t, "/bin/sh", "-c", script)
			req.Stdout, req.Stderr = &stdout, &stderr
			res, err := h.Run(context.Background(), "none", req)
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("run: %v %+v", err, res)
			}
			if !bytes.Equal(stdout.Bytes(), outData) || !bytes.Equal(stderr.Bytes(), errData) {
				t.Fatalf("output differs: stdout %d bytes, stderr %d bytes", stdout.Len(), stderr.Len())
			}
		})
		t.Run("Files/"+string(mode), func(t *testing.T) {
			h := newHost(t, Options{Stdio: mode})
			of, ef := tempFile(t), tempFile(t)
			req := bestEffortReq(t, "/bin/sh", "-c", script)
			req.Stdout, req.Stderr = of, ef
			res, err := h.Run(context.Background(), "none", req)
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("run: %v %+v", err, res)
			}
			gotOut, _ := os.ReadFile(of.Name())
			gotErr, _ := os.ReadFile(ef.Name())
			if !bytes.Equal(gotOut, outData) || !bytes.Equal(gotErr, errData) {
				t.Fatalf("output differs: stdout %d bytes, stderr %d bytes", len(gotOut), len(gotErr))
			}
		})
	}
}

func TestRun_StdinIsPipedThrough(t *testing.T) {
	in := randomBytes(t, 1<<20)
	for _, mode := range []StdioMode{StdioAuto, StdioStream} {
		t.Run("Reader/"+string(mode), func(t *testing.T) {
			h := newHost(t, Options{Stdio: mode})
			var out bytes.Buffer
			req := bestEffortReq(t, "cat")
			req.Stdin, req.Stdout = bytes.NewReader(in), &out
			if res, err := h.Run(context.Background(), "none", req); err != nil || res.ExitCode != 0 {
				t.Fatalf("run: %v %+v", err, res)
			}
			if !bytes.Equal(out.Bytes(), in) {
				t.Fatalf("stdin came out as %d bytes, want %d", out.Len(), len(in))
			}
		})
		t.Run("Pipe/"+string(mode), func(t *testing.T) {
			h := newHost(t, Options{Stdio: mode})
			r, w, err := os.Pipe()
			must(t, err)
			go func() { w.Write(in); w.Close() }()
			of := tempFile(t)
			req := bestEffortReq(t, "cat")
			req.Stdin, req.Stdout = r, of
			if res, err := h.Run(context.Background(), "none", req); err != nil || res.ExitCode != 0 {
				t.Fatalf("run: %v %+v", err, res)
			}
			r.Close()
			got, _ := os.ReadFile(of.Name())
			if !bytes.Equal(got, in) {
				t.Fatalf("stdin came out as %d bytes, want %d", len(got), len(in))
			}
		})
	}
}

func TestRun_TimeoutKillsWholeTree(t *testing.T) {
	h := newHost(t, Options{})
	marker := uniqueMarker(t)
	req := bestEffortReq(t, "/bin/sh", "-c",
		fmt.Sprintf("sh -c 'sleep 1000; : %[1]s' & setsid sh -c 'sleep 1000; : %[1]s' & sleep 1000", marker))
	req.Policy.Limits.Timeout = 500 * time.Millisecond
	res, err := h.Run(context.Background(), "none", req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.ExitCode != core.TimeoutExitCode {
		t.Fatalf("result %+v, want timed out with exit %d", res, core.TimeoutExitCode)
	}
	waitGone(t, marker)
}

func TestRun_PluginCrashMidRunLeavesNothing(t *testing.T) {
	h := newHost(t, Options{Subreaper: true})
	marker := uniqueMarker(t)
	b, err := h.Open(context.Background(), "none")
	must(t, err)
	req := bestEffortReq(t, "/bin/sh", "-c",
		fmt.Sprintf("setsid sh -c 'sleep 1000; : %[1]s' & sh -c 'sleep 1000; : %[1]s' & wait", marker))
	started := make(chan int, 1)
	req.Started = func(pid int) { started <- pid }
	errc := make(chan error, 1)
	go func() { _, err := b.Run(context.Background(), req); errc <- err }()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("command never started")
	}
	waitPresent(t, marker)
	must(t, b.p.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case err := <-errc:
		if !errors.Is(err, core.ErrBackendExited) {
			t.Fatalf("err = %v, want one matching ErrBackendExited", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not end after the plugin died")
	}
	waitGone(t, marker)
}

func TestRun_StrictRunOfNoneIsRefusedWithElements(t *testing.T) {
	h := newHost(t, Options{})
	req := bestEffortReq(t, "true")
	req.Accept = core.Acceptance{}
	_, err := h.Run(context.Background(), "none", req)
	var ne *core.NotEnforcedError
	if !errors.As(err, &ne) || !errors.Is(err, core.ErrNotEnforced) {
		t.Fatalf("err = %v, want *core.NotEnforcedError", err)
	}
	if len(ne.Elements) == 0 || !strings.Contains(err.Error(), "--best-effort") {
		t.Fatalf("error should list elements and say how to opt in: %v", err)
	}
}

func TestPlan_InvalidPolicyKeepsItsProblemsAcrossThePlugin(t *testing.T) {
	h := newHost(t, Options{})
	b, err := h.Open(context.Background(), "none")
	must(t, err)
	p := core.DefaultPolicy("relative/path")
	p.Network.Mode = "sometimes"
	_, err = b.Plan(context.Background(), p)
	var pe *core.PolicyError
	if !errors.As(err, &pe) || len(pe.Problems) != 2 {
		t.Fatalf("err = %v, want a *core.PolicyError with 2 problems", err)
	}
}

func TestOpen_UnknownBackendListsKnownOnes(t *testing.T) {
	h := newHost(t, Options{})
	_, err := h.Open(context.Background(), "nosuch")
	if !errors.Is(err, core.ErrNotFound) || !strings.Contains(err.Error(), "none") {
		t.Fatalf("err = %v, want not found listing \"none\"", err)
	}
}

func TestOpen_WrongProtocolVersionIsRefused(t *testing.T) {
	h := newHost(t, Options{})
	_, err := h.Open(context.Background(), "badproto")
	if !errors.Is(err, core.ErrProtocol) || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("err = %v, want a protocol error", err)
	}
}

func TestOpen_PinnedChecksum(t *testing.T) {
	dir := buildPlugins(t)
	b, err := os.ReadFile(filepath.Join(dir, "sbx-backend-none"))
	must(t, err)
	sum := sha256.Sum256(b)
	t.Run("MatchingChecksumRuns", func(t *testing.T) {
		h := newHost(t, Options{Pins: map[string]string{"sbx-backend-none": hex.EncodeToString(sum[:])}})
		if _, err := h.Open(context.Background(), "none"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("DifferentChecksumIsRefused", func(t *testing.T) {
		bad := sum
		bad[0] ^= 0xff
		h := newHost(t, Options{Pins: map[string]string{"sbx-backend-none": hex.EncodeToString(bad[:])}})
		_, err := h.Open(context.Background(), "none")
		if !errors.Is(err, core.ErrPermission) || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("err = %v, want a checksum refusal", err)
		}
	})
}

func TestList_IncludesNone(t *testing.T) {
	h := newHost(t, Options{})
	found := false
	for _, l := range h.List(context.Background()) {
		if l.Name == "none" && l.Err == nil && l.Info.Available {
			found = true
		}
	}
	if !found {
		t.Fatal("List does not include an available none backend")
	}
}

// helpers

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	must(t, err)
	return b
}

func tempFile(t *testing.T) *os.File {
	f, err := os.CreateTemp(t.TempDir(), "out")
	must(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func uniqueMarker(t *testing.T) string {
	var b [8]byte
	rand.Read(b[:])
	return "sbx-marker-" + hex.EncodeToString(b[:])
}

// markerPids lists processes whose command line contains marker.
func markerPids(marker string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(marker)) {
			out = append(out, e.Name())
		}
	}
	return out
}

func waitGone(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if len(markerPids(marker)) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("processes left behind: %v", markerPids(marker))
}

func waitPresent(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if len(markerPids(marker)) >= 2 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the command's processes never appeared")
}
