package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
)

func TestExplain_BackendOfAnotherOSIsPlannedWithItsPathShapes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs a host that is not Windows")
	}
	h := newHarness(t)
	win := &fakeBackend{name: "winfake", os: "windows"}
	h.set.backends["winfake"] = win
	if code := h.run("--backend=winfake", "explain"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	var got core.Policy
	win.mu.Lock()
	if len(win.plans) > 0 {
		got = win.plans[len(win.plans)-1]
	}
	win.mu.Unlock()
	if !strings.HasPrefix(got.Workspace, `C:\`) {
		t.Fatalf("planned with workspace %q, want this host's path rewritten for Windows", got.Workspace)
	}
	if !strings.Contains(h.stdout.String(), "rewritten for that OS") {
		t.Fatalf("explain does not say the paths were rewritten:\n%s", h.stdout.String())
	}
}

// hostPathsBackend is a backend of another OS whose Plan also refuses a
// workspace that is not absolute on this host, as a plugin that validates
// with the host's filepath.IsAbs would.
type hostPathsBackend struct{ *fakeBackend }

func (b hostPathsBackend) Plan(ctx context.Context, p core.Policy) (*core.Plan, error) {
	if !filepath.IsAbs(p.Workspace) {
		return nil, fmt.Errorf("workspace %q is not absolute: %w", p.Workspace, core.ErrInvalidPolicy)
	}
	return b.fakeBackend.Plan(ctx, p)
}

func TestExplain_ForeignPathsRefusedAsHostPathsArePlannedInUNCForm(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs a host that is not Windows")
	}
	h := newHarness(t)
	h.set.backends["winfake"] = hostPathsBackend{&fakeBackend{name: "winfake", os: "windows"}}
	if code := h.run("--backend=winfake", "explain"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	if !strings.Contains(h.stdout.String(), "workspace //sbx"+h.cwd) {
		t.Fatalf("explain did not plan the UNC form, as compare --explain does:\n%s", h.stdout.String())
	}
}
