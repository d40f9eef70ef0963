//go:build linux

// Run with:
//
//	go test -run TestReport -v ./bench/linux          # table with ratios (SBX_BENCH=1)
//	go test -run '^$' -bench . ./bench/linux          # Go benchmarks

package linuxbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/backends/linux"
	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/sdk/proc"
)

const workloadArg = "sbx-bench-files"

func TestMain(m *testing.M) {
	linux.Reexec()
	if len(os.Args) > 3 && os.Args[1] == workloadArg {
		n, _ := strconv.Atoi(os.Args[2])
		if err := files(n, os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	_ = proc.BecomeSubreaper()
	os.Exit(m.Run())
}

// files creates, stats and deletes n files in dir.
func files(n int, dir string) error {
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), []byte("x"), 0o644); err != nil {
			return err
		}
	}
	for i := 0; i < n; i++ {
		if _, err := os.Stat(filepath.Join(dir, "f"+strconv.Itoa(i))); err != nil {
			return err
		}
	}
	for i := 0; i < n; i++ {
		if err := os.Remove(filepath.Join(dir, "f"+strconv.Itoa(i))); err != nil {
			return err
		}
	}
	return nil
}

// launcher runs argv once in some way.
type launcher struct {
	name string
	run  func(argv []string) error
	// settle is left idle after each run, untimed: a launcher with spare
	// helpers starts the next one just after a run, and that fork (a full
	// copy of this process in namespaces mode, holding Go's fork lock)
	// must not land in the next launcher's timing.
	settle time.Duration
}

// launchers returns the ways to run a command: directly, with bubblewrap
// (when installed), and through each available Linux mode, with ws as the
// writable workspace.
func launchers(tb testing.TB, ws string) []launcher {
	out := []launcher{{name: "direct", run: func(argv []string) error {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = ws
		return cmd.Run()
	}}}
	// The same runner the backends use (proc), without a sandbox: the
	// difference between a mode and this is the sandbox's own cost.
	out = append(out, launcher{name: "proc (no sandbox)", run: func(argv []string) error {
		res, err := proc.Run(context.Background(), proc.Spec{Argv: argv, Dir: ws, Env: os.Environ(), Stdout: io.Discard, Stderr: io.Discard})
		if err == nil && res.ExitCode != 0 {
			err = fmt.Errorf("exit %d", res.ExitCode)
		}
		return err
	}})
	if bw, err := exec.LookPath("bwrap"); err == nil {
		out = append(out, launcher{name: "bwrap", run: func(argv []string) error {
			args := append([]string{"--ro-bind", "/", "/", "--bind", ws, ws, "--unshare-all", "--die-with-parent", "--chdir", ws}, argv...)
			return exec.Command(bw, args...).Run()
		}})
	}
	f := linux.Probe()
	p := core.DefaultPolicy(ws)
	p.WritableTmp = false
	// Which executable serves the helper roles. SBX_BENCH_BIN (set by
	// run.sh) is a directory holding a fresh build of the plugin and of
	// sbx-linux-sandbox: each mode is then measured both ways, re-executing
	// the real plugin binary (what a run cost before the dedicated helper)
	// and starting sbx-linux-sandbox. Without it, the helper is what the
	// probe found for this test binary.
	// A variant with spares keeps a helper started ahead of each run, as a
	// plugin agent does (linux.Backend.KeepSpares): the run hands it its
	// files instead of starting one.
	type helper struct {
		suffix, path string
		spares       bool
	}
	helpers := []helper{{"", f.Helper, false}, {" (spare helper)", f.Helper, true}}
	if dir := os.Getenv("SBX_BENCH_BIN"); dir != "" {
		sandbox := filepath.Join(dir, linux.HelperName)
		helpers = []helper{
			{" (re-exec plugin)", filepath.Join(dir, "sbx-backend-linux"), false},
			{" (sbx-linux-sandbox)", sandbox, false},
			{" (spare sbx-linux-sandbox)", sandbox, true},
		}
	}
	for _, name := range []string{linux.NameLandlock, linux.NameNamespaces} {
		for _, h := range helpers {
			hf := f
			hf.Helper = h.path
			b, err := linux.New(name, hf)
			if err != nil {
				tb.Fatal(err)
			}
			if info, _ := b.Info(context.Background()); !info.Available {
				tb.Logf("%s unavailable: %s", name, info.Unavailable)
				continue
			}
			if h.spares {
				b.KeepSpares()
			}
			var settle time.Duration
			if h.spares {
				settle = 20 * time.Millisecond
			}
			out = append(out, launcher{name: name + h.suffix, settle: settle, run: func(argv []string) error {
				res, err := b.Run(context.Background(), &core.RunRequest{Policy: p, Argv: argv, Env: os.Environ(), Stdout: io.Discard, Stderr: io.Discard})
				if err == nil && res.ExitCode != 0 {
					err = fmt.Errorf("exit %d", res.ExitCode)
				}
				return err
			}})
		}
	}
	return out
}

// measure runs every launcher n times, round-robin (one run of each in
// turn), and returns each launcher's sorted durations. Interleaving keeps
// the ratios of one run fair on a shared machine: a burst of load from
// elsewhere slows every launcher alike instead of whichever happened to be
// measured then.
func measure(ls []launcher, argv []string, n int) ([][]time.Duration, error) {
	d := make([][]time.Duration, len(ls))
	for i := 0; i < n; i++ {
		for j, l := range ls {
			start := time.Now()
			if err := l.run(argv); err != nil {
				return nil, fmt.Errorf("%s: %w", l.name, err)
			}
			d[j] = append(d[j], time.Since(start))
			time.Sleep(l.settle)
		}
	}
	for _, dj := range d {
		sort.Slice(dj, func(i, j int) bool { return dj[i] < dj[j] })
	}
	return d, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// workspace returns a workspace with the usual .git, on a new tmpfs when
// running as root (so disk noise does not drown the comparison).
func workspace(tb testing.TB) (string, bool) {
	// Under /var/tmp: linux-namespaces gives the command a private /tmp.
	ws, err := os.MkdirTemp("/var/tmp", "sbx-bench-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(ws) })
	onTmpfs := false
	if os.Geteuid() == 0 {
		if err := unix.Mount("tmpfs", ws, "tmpfs", 0, "size=256m"); err == nil {
			onTmpfs = true
			tb.Cleanup(func() { _ = unix.Unmount(ws, unix.MNT_DETACH) })
		}
	}
	if err := os.MkdirAll(filepath.Join(ws, ".git"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, "work"), 0o755); err != nil {
		tb.Fatal(err)
	}
	return ws, onTmpfs
}

// TestReport prints startup and file-workload tables with ratios against
// running directly, measured in the same run. Set SBX_BENCH=1 to run it.
func TestReport(t *testing.T) {
	if os.Getenv("SBX_BENCH") == "" {
		t.Skip("set SBX_BENCH=1 to run the benchmark report")
	}
	n, _ := strconv.Atoi(os.Getenv("SBX_BENCH_N"))
	if n <= 0 {
		n = 200
	}
	ws, onTmpfs := workspace(t)
	self := selfCopy(t)
	ls := launchers(t, ws)

	fmt.Printf("\nstartup of `true` (%d runs each, interleaved; uid %d)\n", n, os.Geteuid())
	fmt.Printf("%-44s %10s %10s %10s %10s\n", "launch", "median ms", "p95 ms", "x direct", "x bwrap")
	ds, err := measure(ls, []string{"/bin/true"}, n)
	if err != nil {
		t.Fatal(err)
	}
	var base, bw time.Duration
	for j, l := range ls {
		med := ds[j][len(ds[j])/2]
		switch l.name {
		case "direct":
			base = med
		case "bwrap":
			bw = med
		}
	}
	for j, l := range ls {
		d := ds[j]
		med, p95 := d[len(d)/2], d[len(d)*95/100]
		vsBw := "-"
		if bw > 0 {
			vsBw = fmt.Sprintf("%.2f", float64(med)/float64(bw))
		}
		fmt.Printf("%-44s %10s %10s %10.2f %10s\n", l.name, ms(med), ms(p95), float64(med)/float64(base), vsBw)
	}

	if !onTmpfs {
		fmt.Println("\nfile workload skipped: it runs on a tmpfs, which only root can mount here")
		return
	}
	const nfiles = 10000
	runs := 15
	where := "a tmpfs"
	fmt.Printf("\n%d files created, stat-ed and deleted in %s (%d runs each, interleaved, median)\n", nfiles, where, runs)
	fmt.Printf("%-44s %10s %10s\n", "launch", "median ms", "overhead")
	argv := []string{self, workloadArg, strconv.Itoa(nfiles), filepath.Join(ws, "work")}
	ds, err = measure(ls, argv, runs)
	if err != nil {
		t.Fatal(err)
	}
	base = ds[0][len(ds[0])/2] // direct
	for j, l := range ls {
		med := ds[j][len(ds[j])/2]
		fmt.Printf("%-44s %10s %9.1f%%\n", l.name, ms(med), 100*(float64(med)/float64(base)-1))
	}
	fmt.Println("\n(the workload's time includes one process start; compare the startup table)")
}

// BenchmarkStartup measures starting `true` each way.
func BenchmarkStartup(b *testing.B) {
	ws, _ := workspace(b)
	for _, l := range launchers(b, ws) {
		b.Run(l.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := l.run([]string{"/bin/true"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFiles10k measures the 10,000-file workload each way.
func BenchmarkFiles10k(b *testing.B) {
	ws, _ := workspace(b)
	self := selfCopy(b)
	argv := []string{self, workloadArg, "10000", filepath.Join(ws, "work")}
	for _, l := range launchers(b, ws) {
		b.Run(l.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := l.run(argv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// selfCopy copies this test binary out of /tmp (invisible to
// linux-namespaces, which mounts a private /tmp) and returns the copy.
func selfCopy(tb testing.TB) string {
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp("/var/tmp", "sbx-bench-bin-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o755)
	data, err := os.ReadFile(self)
	if err != nil {
		tb.Fatal(err)
	}
	dst := filepath.Join(dir, "bench")
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dst
}
