//go:build unix

package proc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

var shEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}

// sh returns a Spec running script with sh -c.
func sh(script string) Spec {
	return Spec{Argv: []string{"sh", "-c", script}, Env: shEnv}
}

func TestRun_ExitCodesAreExact(t *testing.T) {
	for _, code := range []int{0, 1, 42} {
		s := helperSpec(t, "exit", itoa(code))
		res, err := Run(context.Background(), s)
		if err != nil {
			t.Fatalf("exit %d: %v", code, err)
		}
		if res.ExitCode != code || res.Signal != 0 || res.TimedOut {
			t.Errorf("exit %d: got %+v", code, res)
		}
	}
}

func TestRun_SignalDeathIs128PlusN(t *testing.T) {
	res, err := Run(context.Background(), sh("kill -TERM $$"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 143 || res.Signal != core.SIGTERM {
		t.Errorf("got exit %d signal %d, want 143 and 15", res.ExitCode, res.Signal)
	}
}

func TestRun_StdinIsPipedThroughWithEOF(t *testing.T) {
	var out bytes.Buffer
	s := sh("cat; echo done")
	s.Stdin = strings.NewReader("hello\x00world\n")
	s.Stdout = &out
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("res %+v err %v", res, err)
	}
	if got, want := out.String(), "hello\x00world\ndone\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}

func TestRun_BinaryOutputIsByteExactOnBothStreams(t *testing.T) {
	const n = 8 << 20
	var stdout, stderr bytes.Buffer
	s := helperSpec(t, "blobs", itoa(n), "1", "2")
	s.Stdout, s.Stderr = &stdout, &stderr
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("res %+v err %v", res, err)
	}
	for _, c := range []struct {
		name string
		got  []byte
		seed int64
	}{{"stdout", stdout.Bytes(), 1}, {"stderr", stderr.Bytes(), 2}} {
		want := make([]byte, n)
		_, _ = io.ReadFull(blob(c.seed), want)
		if !bytes.Equal(c.got, want) {
			t.Errorf("%s: %d bytes, differs from the %d written", c.name, len(c.got), n)
		}
	}
}

func TestRun_FilesArePassedThrough(t *testing.T) {
	dir := t.TempDir()
	out, err := os.Create(dir + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	s := sh("echo to-file; echo to-err >&2")
	s.Stdout, s.Stderr = out, out
	if _, err := Run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(dir + "/out")
	if string(b) != "to-file\nto-err\n" {
		t.Errorf("file has %q", b)
	}
}

func TestRun_TimeoutKillsAndReports124(t *testing.T) {
	s := sh("sleep 1000")
	s.Timeout = 100 * time.Millisecond
	res, err := Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.ExitCode != core.TimeoutExitCode {
		t.Errorf("got %+v, want TimedOut and exit 124", res)
	}
}

func TestRun_CancelKillsAndWrapsErrCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := sh("sleep 1000")
	s.Started = func(int) { cancel() }
	res, err := Run(ctx, s)
	if !errors.Is(err, core.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want ErrCanceled and context.Canceled", err)
	}
	if res == nil || res.Signal != core.SIGKILL {
		t.Errorf("result %+v, want a SIGKILL death", res)
	}
}

func TestRun_SignalsAreForwardedToTheGroup(t *testing.T) {
	sigs := make(chan core.Signal, 1)
	var out bytes.Buffer
	// The trap proves the signal reached the shell; the shell waits for
	// its child, which gets the signal as part of the group too.
	s := sh("trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.05; done")
	s.Signals = sigs
	r, w := io.Pipe()
	s.Stdout = w
	ready := make(chan struct{})
	go func() {
		buf := make([]byte, 6)
		_, _ = io.ReadFull(r, buf)
		close(ready)
		_, _ = io.Copy(&out, r)
	}()
	go func() { <-ready; sigs <- core.SIGINT }()
	res, err := Run(context.Background(), s)
	_ = w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 7 {
		t.Errorf("exit %d, want 7 (the INT trap)", res.ExitCode)
	}
}

func TestRun_NotFoundIsAClearError(t *testing.T) {
	_, err := Run(context.Background(), Spec{Argv: []string{"no-such-command-sbx"}, Env: shEnv})
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("err %v, want ErrNotFound", err)
	}
}

func TestRun_EnvPathIsTheCommandsNotOurs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/sbx-only-here", []byte("#!/bin/sh\necho found-it\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Spec{Argv: []string{"sbx-only-here"}, Env: []string{"PATH=" + dir + ":/usr/bin:/bin"}, Stdout: &out})
	if err != nil || res.ExitCode != 0 || out.String() != "found-it\n" {
		t.Fatalf("res %+v err %v out %q", res, err, out.String())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestRun_ConfigureMustKeepTheSession(t *testing.T) {
	s := sh("echo ran")
	var out bytes.Buffer
	s.Stdout = &out
	s.Configure = func(cmd *exec.Cmd) error {
		cmd.SysProcAttr = &syscall.SysProcAttr{} // drops Setsid
		return nil
	}
	if _, err := Run(context.Background(), s); err == nil || !strings.Contains(err.Error(), "Setsid") {
		t.Fatalf("err %v, want a refusal naming Setsid", err)
	}
	if out.Len() != 0 {
		t.Error("the command ran")
	}
}

func TestRun_ConfigureAndAfterStartAreCalled(t *testing.T) {
	var configured, afterStart, started int
	s := sh("exit 0")
	s.Configure = func(cmd *exec.Cmd) error { configured++; return nil }
	s.AfterStart = func(pid int) error { afterStart = pid; return nil }
	s.Started = func(pid int) { started = pid }
	if _, err := Run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if configured != 1 || afterStart == 0 || afterStart != started {
		t.Errorf("configured %d, AfterStart pid %d, Started pid %d", configured, afterStart, started)
	}
}

func TestRun_AfterStartErrorKillsAndIsReturned(t *testing.T) {
	s := sh("sleep 1000")
	boom := errors.New("boom")
	s.AfterStart = func(int) error { return boom }
	res, err := Run(context.Background(), s)
	if !errors.Is(err, boom) || res != nil {
		t.Fatalf("res %+v err %v, want boom", res, err)
	}
}

func TestRun_MissingWorkingDirectoryIsAClearError(t *testing.T) {
	s := sh("true")
	s.Dir = "/no/such/dir/sbx"
	_, err := Run(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "/no/such/dir/sbx") {
		t.Fatalf("err %v, want one naming the directory", err)
	}
}

func TestRun_NilEnvIsEmpty(t *testing.T) {
	var out bytes.Buffer
	t.Setenv("SBX_PROC_LEAK", "leaked")
	res, err := Run(context.Background(), Spec{Argv: []string{"/bin/sh", "-c", "echo \"[${SBX_PROC_LEAK-}]\""}, Stdout: &out})
	if err != nil || res.ExitCode != 0 || out.String() != "[]\n" {
		t.Fatalf("res %+v err %v out %q", res, err, out.String())
	}
}

func TestRun_CanceledContextRunsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	started := false
	s := sh("exit 0")
	s.Started = func(int) { started = true }
	res, err := Run(ctx, s)
	if !errors.Is(err, core.ErrCanceled) || res != nil || started {
		t.Fatalf("res %+v err %v started %v", res, err, started)
	}
}
