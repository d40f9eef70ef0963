//go:build linux

package host

import (
	"context"
	"errors"
	"github.com/sbxdev/sbx/core"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A Host that lives long (the sbx front-end agent keeps one across
// commands) must notice that a plugin binary was replaced and start the new
// one instead of reusing its connection to the old process.
func TestOpen_ReplacedBinaryIsStartedAfresh(t *testing.T) {
	src := filepath.Join(buildPlugins(t), "sbx-backend-none")
	dir := t.TempDir()
	bin := filepath.Join(dir, "sbx-backend-none")
	copyFile(t, src, bin)
	h := New(Options{Getenv: func(k string) string {
		if k == EnvPluginPath {
			return dir
		}
		return ""
	}})
	t.Cleanup(func() { h.Close() })
	ctx := context.Background()

	if _, err := h.Open(ctx, "none"); err != nil {
		t.Fatal(err)
	}
	first := h.plugins[bin]
	if _, err := h.Open(ctx, "none"); err != nil {
		t.Fatal(err)
	}
	if h.plugins[bin] != first {
		t.Fatal("an unchanged plugin was started again; want its connection reused")
	}

	later := time.Now().Add(time.Minute)
	must(t, os.Chtimes(bin, later, later))
	if _, err := h.Open(ctx, "none"); err != nil {
		t.Fatal(err)
	}
	if h.plugins[bin] == first {
		t.Fatal("the replaced plugin binary is still served by the old process")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !first.exited() {
		if time.Now().After(deadline) {
			t.Fatal("the old plugin process was not stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	must(t, err)
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	must(t, err)
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	must(t, out.Close())
}

// Two Hosts in one subreaper process: when one's plugin crashes and it
// kills the orphans, the other's plugin (also a child of this process)
// must survive.
func TestKillOrphans_SparesOtherHostsPlugins(t *testing.T) {
	a := newHost(t, Options{Subreaper: true})
	b := newHost(t, Options{Subreaper: true})
	ctx := context.Background()
	ba, err := a.Open(ctx, "none")
	must(t, err)
	bb, err := b.Open(ctx, "none")
	must(t, err)
	other := bb.p.cmd.Process.Pid

	must(t, ba.p.cmd.Process.Signal(syscall.SIGKILL))
	if _, err := ba.Run(ctx, bestEffortReq(t, "true")); !errors.Is(err, core.ErrBackendExited) {
		t.Fatalf("run on the killed plugin: %v, want ErrBackendExited (which kills the orphans)", err)
	}
	if err := syscall.Kill(other, 0); err != nil {
		t.Fatalf("the other host's plugin %d was killed with the orphans: %v", other, err)
	}
	if res, err := bb.Run(ctx, bestEffortReq(t, "/bin/sh", "-c", "exit 5")); err != nil || res.ExitCode != 5 {
		t.Fatalf("the other host's plugin: %+v, %v", res, err)
	}
}
