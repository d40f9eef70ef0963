package proc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
)

// tree is a process tree started by a test: daemons that write pid files
// and carry a unique marker in their argv.
type tree struct {
	dir, marker string
	names       []string
}

func newTree(t *testing.T, names ...string) *tree {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &tree{dir: t.TempDir(), marker: "sbxmark-" + hex.EncodeToString(b), names: names}
}

// spawn returns the shell command that starts daemon name.
func (tr *tree) spawn(name string) string {
	return fmt.Sprintf(`"$EXE" %s %s`, filepath.Join(tr.dir, name), tr.marker)
}

// waitAll returns shell code that waits until every daemon wrote its pid.
func (tr *tree) waitAll() string {
	var conds []string
	for _, n := range tr.names {
		conds = append(conds, fmt.Sprintf("[ ! -e %s ]", filepath.Join(tr.dir, n)))
	}
	return "while " + strings.Join(conds, " || ") + "; do sleep 0.01; done"
}

// spec runs script under sh with the test binary as $EXE in daemon mode.
func (tr *tree) spec(t *testing.T, script string) Spec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{
		Argv: []string{"sh", "-c", script},
		Env:  append([]string{"EXE=" + exe, helperEnv + "=daemon"}, shEnv...),
	}
}

// check fails the test unless every daemon started (else the test would
// prove nothing) and none is alive, and no zombie child is left.
func (tr *tree) check(t *testing.T) {
	t.Helper()
	for _, n := range tr.names {
		b, err := os.ReadFile(filepath.Join(tr.dir, n))
		if err != nil {
			t.Errorf("daemon %s never started (the test proves nothing): %v", n, err)
			continue
		}
		pid, _ := strconv.Atoi(string(b))
		if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(cmd, []byte(tr.marker)) {
			t.Errorf("daemon %s (pid %d) survived the run", n, pid)
		}
	}
	for pid := range scanProcs() {
		if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(cmd, []byte(tr.marker)) {
			t.Errorf("pid %d carries the marker and survived the run: %q", pid, cmd)
		}
	}
	for pid, pi := range scanProcs() {
		if pi.ppid == os.Getpid() && pi.zombie {
			stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			t.Errorf("zombie child %d left unreaped: %s", pid, stat)
		}
	}
}

// allKinds spawns a plain background child, a setsid'd child, a
// double-forked setsid'd daemon (reparented away from the tree), and a
// child of a subshell whose parent exits.
func allKinds(tr *tree) string {
	return strings.Join([]string{
		tr.spawn("plain") + " &",
		"setsid " + tr.spawn("setsid") + " &",
		"( setsid " + tr.spawn("double") + " & ) &",
		"( " + tr.spawn("orphan") + " & exit 0 )",
		tr.waitAll(),
	}, "\n")
}

var allNames = []string{"plain", "setsid", "double", "orphan"}

func TestRun_TimeoutKillsTheWholeTreeIncludingDaemons(t *testing.T) {
	tr := newTree(t, allNames...)
	s := tr.spec(t, allKinds(tr)+"\nsleep 1000")
	s.Timeout = 5 * time.Second
	var out bytes.Buffer
	s.Stdout, s.Stderr = &out, &out // the daemons hold the pipe too
	res, err := Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.ExitCode != 124 {
		t.Errorf("result %+v, want a timeout", res)
	}
	tr.check(t)
}

func TestRun_WhatTheCommandLeavesBehindDies(t *testing.T) {
	tr := newTree(t, allNames...)
	s := tr.spec(t, allKinds(tr)+"\necho started; exit 3")
	var out bytes.Buffer
	s.Stdout = &out // held open by the daemons: Run must not hang on it
	res, err := Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || out.String() != "started\n" {
		t.Errorf("result %+v output %q", res, out.String())
	}
	tr.check(t)
}

func TestRun_CancelKillsTheWholeTree(t *testing.T) {
	tr := newTree(t, allNames...)
	s := tr.spec(t, allKinds(tr)+"\necho ready; sleep 1000")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Stdout = &notifyWriter{want: "ready", fn: cancel}
	_, err := Run(ctx, s)
	if err == nil {
		t.Fatal("Run returned no error after cancel")
	}
	tr.check(t)
}

func TestRun_CustomKillTreeIsUsed(t *testing.T) {
	called := 0
	s := sh("sleep 1000")
	s.Timeout = 50 * time.Millisecond
	s.KillTree = func(pid int) {
		called++
		killTree(pid, func() bool { return true })
	}
	res, err := Run(context.Background(), s)
	if err != nil || !res.TimedOut {
		t.Fatalf("res %+v err %v", res, err)
	}
	if called == 0 {
		t.Error("KillTree was not called")
	}
}

// notifyWriter calls fn once the output contains want.
type notifyWriter struct {
	buf  bytes.Buffer
	want string
	fn   func()
	done bool
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.want) {
		w.done = true
		w.fn()
	}
	return len(p), nil
}

func TestRun_TTYCtrlCByteInterruptsTheForegroundJob(t *testing.T) {
	out := newSyncBuffer()
	in, inW := io.Pipe()
	s := sh("sleep 100; echo not-interrupted")
	s.TTY = &core.WindowSize{Rows: 24, Cols: 80}
	s.Stdin, s.Stdout = in, out
	// The byte is sent once sleep runs: a SIGINT that reaches sh before
	// it forks is only acted upon after sleep ends.
	s.Started = func(pid int) {
		go func() {
			waitChild(t, pid, "sleep")
			_, _ = inW.Write([]byte{0x03})
		}()
	}
	res, err := Run(context.Background(), s)
	_ = inW.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 130 || strings.Contains(out.String(), "not-interrupted") {
		t.Errorf("res %+v out %q, want the SIGINT status 130", res, out.String())
	}
}

// waitChild waits until process pid has a child running comm. The deadline
// only guards against a hung test.
func waitChild(t *testing.T, pid int, comm string) {
	guard := time.Now().Add(30 * time.Second)
	for time.Now().Before(guard) {
		for p, pi := range scanProcs() {
			if pi.ppid != pid {
				continue
			}
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); err == nil && strings.TrimSpace(string(b)) == comm {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("process %d never ran %s", pid, comm)
}

func TestRun_ConcurrentRunsDoNotKillEachOthersProcesses(t *testing.T) {
	ta := newTree(t, "plain", "double")
	tb := newTree(t, "plain", "double")
	aDone := filepath.Join(tb.dir, "a-done")

	// B starts daemons, then, once A is over, checks they still live.
	sb := tb.spec(t, tb.spawn("plain")+" &\n( setsid "+tb.spawn("double")+" & ) &\n"+tb.waitAll()+"\necho ready\n"+
		"while [ ! -e "+aDone+" ]; do sleep 0.01; done\n"+
		"kill -0 $(cat "+filepath.Join(tb.dir, "plain")+") && kill -0 $(cat "+filepath.Join(tb.dir, "double")+") && echo b-alive")
	outB := newSyncBuffer()
	sb.Stdout = outB
	type result struct {
		res *core.RunResult
		err error
	}
	doneB := make(chan result, 1)
	go func() {
		res, err := Run(context.Background(), sb)
		doneB <- result{res, err}
	}()
	outB.waitFor(t, "ready")

	// A leaves a daemon in its session and a double-forked one behind.
	sa := ta.spec(t, ta.spawn("plain")+" &\n( setsid "+ta.spawn("double")+" & ) &\n"+ta.waitAll())
	if res, err := Run(context.Background(), sa); err != nil || res.ExitCode != 0 {
		t.Fatalf("run A: res %+v err %v", res, err)
	}
	b, _ := os.ReadFile(filepath.Join(ta.dir, "plain"))
	pid, _ := strconv.Atoi(string(b))
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(cmd, []byte(ta.marker)) {
		t.Errorf("A's daemon in A's session survived A's end")
	}
	if err := os.WriteFile(aDone, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rb := <-doneB
	if rb.err != nil || rb.res.ExitCode != 0 || !strings.Contains(outB.String(), "b-alive") {
		t.Errorf("B's daemons did not survive A's end: res %+v err %v out %q", rb.res, rb.err, outB.String())
	}
	// B was the last run: everything is gone now, A's double-forked
	// daemon (which could not be attributed while B ran) included.
	ta.check(t)
	tb.check(t)
}

func TestRun_AnEscapedPipeHolderDoesNotHangRunForever(t *testing.T) {
	defer func(d time.Duration) { drainStall = d }(drainStall)
	drainStall = 200 * time.Millisecond
	tr := newTree(t, "holder")
	s := tr.spec(t, tr.spawn("holder")+" &\n"+tr.waitAll()+"\necho started")
	s.KillTree = func(int) {} // the holder escapes: nothing kills it
	var out bytes.Buffer
	s.Stdout = &out
	res, err := Run(context.Background(), s)
	if err != nil || res.ExitCode != 0 || out.String() != "started\n" {
		t.Errorf("res %+v err %v out %q", res, err, out.String())
	}
	// Clean up the holder ourselves.
	b, _ := os.ReadFile(filepath.Join(tr.dir, "holder"))
	pid, _ := strconv.Atoi(string(b))
	if pid > 0 {
		killTree(pid, func() bool { return true })
	}
	tr.check(t)
}

// Without a subreaper, orphans go to init and never come back: a zombie
// child in a session of its own is then other code's exec.Cmd child, and
// the reaper must leave its exit status to that code's Wait.
func TestReapOrphans_WithoutSubreaperLeavesOtherCodesChildren(t *testing.T) {
	subreaper.Store(false)
	defer subreaper.Store(true) // TestMain made this process a subreaper
	cmd := exec.Command("sh", "-c", "exit 7")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sh: %v", err)
	}
	// Wait until it is a zombie, without reaping it.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	reapOrphans()
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("Wait = %v, want exit status 7 (the reaper took the status)", err)
	}
}
