//go:build linux

package host

import (
	"context"
	"io"
	"os"
	"path/filepath"
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
