//go:build unix

package main

import (
	"context"
	"syscall"
	"testing"

	"github.com/sbxdev/sbx/core"
)

func TestRun_WindowResizeIsForwarded(t *testing.T) {
	h := newHarness(t)
	term := &fakeTerminal{size: core.WindowSize{Rows: 24, Cols: 80}}
	h.term = term
	var got core.WindowSize
	h.fake.run = func(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
		c := h.notifiedFor(syscall.SIGWINCH)
		term.resize(core.WindowSize{Rows: 50, Cols: 200})
		c <- syscall.SIGWINCH
		got = <-req.Resize
		return &core.RunResult{}, nil
	}
	if code := h.run("run", "--", "vi"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.stderr.String())
	}
	if want := (core.WindowSize{Rows: 50, Cols: 200}); got != want {
		t.Errorf("resize = %v, want %v", got, want)
	}
}
