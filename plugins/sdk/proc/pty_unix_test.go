//go:build unix

package proc

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

// syncBuffer is an output buffer a test can wait on.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the output contains s. The deadline is only a guard
// against a hung test, far above what the step takes.
func (b *syncBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	guard := time.After(30 * time.Second)
	for !strings.Contains(b.String(), s) {
		select {
		case <-b.changed:
		case <-guard:
			t.Fatalf("output never contained %q; got %q", s, b.String())
		}
	}
}

func TestRun_TTYIsANewTerminalOfTheRequestedSize(t *testing.T) {
	out := newSyncBuffer()
	s := sh("tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty")
	s.TTY = &core.WindowSize{Rows: 33, Cols: 111}
	s.Stdout = out
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("res %+v err %v out %q", res, err, out.String())
	}
	got := out.String()
	for _, want := range []string{"/dev/pts/", "33 111", "all-tty"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
}

func TestRun_TTYResizeReachesTheCommand(t *testing.T) {
	out := newSyncBuffer()
	resize := make(chan core.WindowSize, 1)
	s := sh("trap 'stty size; exit 0' WINCH; echo ready; while :; do sleep 0.05; done")
	s.TTY = &core.WindowSize{Rows: 24, Cols: 80}
	s.Resize = resize
	s.Stdout = out
	go func() {
		out.waitFor(t, "ready")
		resize <- core.WindowSize{Rows: 50, Cols: 132}
	}()
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 0 || !strings.Contains(out.String(), "50 132") {
		t.Fatalf("res %+v err %v out %q", res, err, out.String())
	}
}

func TestRun_TTYSignalsGoToTheForegroundGroup(t *testing.T) {
	out := newSyncBuffer()
	sigs := make(chan core.Signal, 1)
	s := sh("trap 'echo got-int; exit 9' INT; echo ready; while :; do sleep 0.05; done")
	s.TTY = &core.WindowSize{Rows: 24, Cols: 80}
	s.Signals, s.Stdout = sigs, out
	go func() {
		out.waitFor(t, "ready")
		sigs <- core.SIGINT
	}()
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 9 || !strings.Contains(out.String(), "got-int") {
		t.Fatalf("res %+v err %v out %q", res, err, out.String())
	}
}

func TestRun_TTYInputReachesTheCommand(t *testing.T) {
	out := newSyncBuffer()
	s := sh("read line; echo \"got:$line\"")
	s.TTY = &core.WindowSize{Rows: 24, Cols: 80}
	s.Stdin, s.Stdout = strings.NewReader("hello\n"), out
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 0 || !strings.Contains(out.String(), "got:hello") {
		t.Fatalf("res %+v err %v out %q", res, err, out.String())
	}
}

func TestRun_TTYLargeOutputIsComplete(t *testing.T) {
	out := newSyncBuffer()
	// 20000 numbered lines: the last one must arrive although the command
	// exits (and closes the slave) right after writing it.
	s := sh("i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done; echo the-end")
	s.TTY = &core.WindowSize{Rows: 24, Cols: 80}
	s.Stdout = out
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("res %+v err %v", res, err)
	}
	if got := out.String(); !strings.HasSuffix(got, "line-19999\r\nthe-end\r\n") {
		t.Errorf("output ends with %q", got[max(0, len(got)-40):])
	}
}

func TestRun_TTYInputRelayFromAFileEndsWithTheRun(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	out := newSyncBuffer()
	s := sh("read line; echo \"got:$line\"")
	s.TTY = &core.WindowSize{Rows: 24, Cols: 80}
	s.Stdin, s.Stdout = pr, out
	if _, err := pw.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 0 || !strings.Contains(out.String(), "got:first") {
		t.Fatalf("res %+v err %v out %q", res, err, out.String())
	}
	// What the caller types after the run is the caller's, not swallowed
	// by a relay left behind.
	if _, err := pw.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	_ = pr.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hung test guard only
	if _, err := io.ReadFull(pr, buf); err != nil || string(buf) != "after" {
		t.Errorf("read %q, %v after the run, want \"after\"", buf, err)
	}
}
