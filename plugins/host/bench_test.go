//go:build linux

package host

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

// These benchmarks split the floor that the plugin hop adds to every
// command (bench/run.sh runs them and reports ratios):
//
//   - BenchmarkBaseline_ExecTrue: fork+exec+wait of /bin/true, the baseline.
//   - BenchmarkPlugin_StartHandshake: start the none plugin, handshake,
//     Hello, and kill it: paid once per sbx invocation.
//   - BenchmarkPlugin_RunTrue: one Plan+Run of /bin/true on a running
//     plugin: paid per command.

func BenchmarkBaseline_ExecTrue(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlugin_StartHandshake(b *testing.B) {
	dir := buildPlugins(b)
	getenv := func(k string) string {
		if k == EnvPluginPath {
			return dir
		}
		return ""
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := New(Options{Getenv: getenv})
		if _, err := h.Open(context.Background(), "none"); err != nil {
			b.Fatal(err)
		}
		h.Close()
	}
}

func BenchmarkPlugin_RunTrue(b *testing.B) {
	dir := buildPlugins(b)
	h := New(Options{Getenv: func(k string) string {
		if k == EnvPluginPath {
			return dir
		}
		return ""
	}})
	defer h.Close()
	be, err := h.Open(context.Background(), "none")
	if err != nil {
		b.Fatal(err)
	}
	ws := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := be.Run(context.Background(), &core.RunRequest{
			Policy: core.DefaultPolicy(ws),
			Accept: core.Acceptance{BestEffort: true},
			Argv:   []string{"/bin/true"},
		})
		if err != nil || res.ExitCode != 0 {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkAgent_OpenRunTrue is what a new sbx process pays per command
// when plugins are kept as agents: reattach, Hello, Plan, descriptor
// passing and Run of /bin/true.
func BenchmarkAgent_OpenRunTrue(b *testing.B) {
	dir := buildPlugins(b)
	runtime := b.TempDir()
	getenv := func(k string) string {
		switch k {
		case EnvPluginPath:
			return dir
		case "XDG_RUNTIME_DIR":
			return runtime
		}
		return ""
	}
	ws := b.TempDir()
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	defer devnull.Close()
	run := func() {
		h := New(Options{KeepAlive: time.Minute, Getenv: getenv})
		defer h.Close()
		be, err := h.Open(context.Background(), "none")
		if err != nil {
			b.Fatal(err)
		}
		res, err := be.Run(context.Background(), &core.RunRequest{
			Policy: core.DefaultPolicy(ws),
			Accept: core.Acceptance{BestEffort: true},
			Argv:   []string{"/bin/true"},
			Stdin:  devnull, Stdout: devnull, Stderr: devnull,
		})
		if err != nil || res.ExitCode != 0 {
			b.Fatal(err, res)
		}
	}
	run() // start the agent outside the timing
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.StopTimer()
	if st, err := filepath.Glob(filepath.Join(runtime, "*", "*.json")); err == nil {
		for _, f := range st {
			var s agentState
			if bs, err := os.ReadFile(f); err == nil && json.Unmarshal(bs, &s) == nil {
				syscall.Kill(s.Pid, syscall.SIGKILL)
			}
		}
	}
}
