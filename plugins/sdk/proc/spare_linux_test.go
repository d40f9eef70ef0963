package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/sdk/proc/spare"
)

// spareRole, as argv[0], makes the test binary a spare (spareHelper): it
// is started with an empty environment, so a role in the environment, as
// the other helpers have, would not reach it.
const spareRole = "sbx-proc-test-spare"

func init() { argv0Helpers[spareRole] = spareHelper }

// spareHelper waits for a run (spare.Await) and then executes args, the
// run's command.
func spareHelper(args []string) int {
	switch err := spare.Await(); {
	case errors.Is(err, spare.ErrNoRun):
		return 0
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 125
	}
	err := syscall.Exec(args[0], args, []string{"PATH=/usr/bin:/bin"})
	fmt.Fprintln(os.Stderr, err)
	return 126
}

// startSpare starts the test binary as a spare that runs argv once handed
// a run, and closes it at the end of the test.
func startSpare(t *testing.T, argv ...string) *Spare {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sp, err := StartSpare(exe, append([]string{spareRole}, argv...), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	return sp
}

// processGone reports whether pid no longer exists (not even as a zombie).
func processGone(pid int) bool {
	return unix.Kill(pid, 0) == unix.ESRCH
}

// threads counts the threads of pid still in /proc/PID/task.
func threads(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	return len(ents)
}

// zombie reports whether pid is a zombie.
func zombie(pid int) bool {
	pi, ok := readStat(pid)
	return ok && pi.zombie
}

func TestSpare_TakesTheRunWithItsStreamsDirectoryUmaskAndFiles(t *testing.T) {
	dir := t.TempDir()
	// The reserved slots 4 to 7 are closed (checked on the shell itself,
	// outside any pipeline: a pipe's ends would show there for a moment).
	script := `pwd; umask; cat <&3; echo; for fd in 3 4 5 6 7; do [ -e /proc/$$/fd/$fd ] && printf '%s ' $fd; done; echo; cat`
	sp := startSpare(t, "/bin/sh", "-c", script)
	extraR, extraW, err := os.Pipe()
	must(t, err)
	defer extraR.Close()
	_, _ = extraW.WriteString("extra file")
	extraW.Close()
	umask := uint32(0o027)
	var out bytes.Buffer
	var started int
	res, err := Run(context.Background(), Spec{
		// What a fresh start would be, had the spare been unusable.
		Argv: []string{"/bin/sh", "-c", script}, Dir: dir, Umask: &umask,
		Stdin: strings.NewReader("from stdin"), Stdout: &out, Stderr: &out,
		Configure: func(cmd *exec.Cmd) error { cmd.ExtraFiles = []*os.File{extraR}; return nil },
		Started:   func(pid int) { started = pid },
		Spare:     sp,
	})
	if err != nil {
		t.Fatal(err)
	}
	if started != sp.Pid() {
		t.Errorf("the run's process is %d, want the spare %d", started, sp.Pid())
	}
	want := dir + "\n0027\nextra file\n3 \nfrom stdin"
	if res.ExitCode != 0 || out.String() != want {
		t.Errorf("exit %d, output %q, want %q (fd 3 the extra file, 4 to 7 closed)", res.ExitCode, out.String(), want)
	}
	if !processGone(sp.Pid()) {
		t.Errorf("the spare %d was not reaped after its run", sp.Pid())
	}
}

func TestSpare_ATerminalRunMakesThePtyTheControllingTerminal(t *testing.T) {
	// /dev/tty opens only for a process with a controlling terminal.
	sp := startSpare(t, "/bin/sh", "-c", "exec 9</dev/tty && echo has-ctty")
	var out bytes.Buffer
	res, err := Run(context.Background(), Spec{
		Argv: []string{"/bin/sh", "-c", "exit 99"}, Stdout: &out,
		TTY: &core.WindowSize{Rows: 24, Cols: 80}, Spare: sp,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); res.ExitCode != 0 || got != "has-ctty" {
		t.Errorf("exit %d, terminal shows %q; want has-ctty", res.ExitCode, got)
	}
}

func TestSpare_ADeadSpareFallsBackToAFreshStart(t *testing.T) {
	sp := startSpare(t, "/bin/sh", "-c", "echo from the spare")
	must(t, unix.Kill(sp.Pid(), unix.SIGKILL))
	// Dead, descriptors included: the leader of a multi-threaded process
	// shows as a zombie while its other threads still hold them.
	for !zombie(sp.Pid()) || threads(sp.Pid()) > 1 {
		time.Sleep(time.Millisecond)
	}
	var out bytes.Buffer
	var started int
	res, err := Run(context.Background(), Spec{
		Argv: []string{"/bin/sh", "-c", "echo fresh"}, Stdout: &out,
		Started: func(pid int) { started = pid }, Spare: sp,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || out.String() != "fresh\n" || started == sp.Pid() {
		t.Errorf("exit %d, output %q, pid %d (spare %d): want a fresh start", res.ExitCode, out.String(), started, sp.Pid())
	}
	if !processGone(sp.Pid()) {
		t.Errorf("the dead spare %d was not reaped", sp.Pid())
	}
}

func TestSpare_AnIdleSpareSurvivesTheTreeKillOfOtherRuns(t *testing.T) {
	sp := startSpare(t, "/bin/sh", "-c", "echo still here")
	// A run that leaves daemons behind makes proc read the whole process
	// table and kill what belongs to the run: an idle spare is a child of
	// this process in a session of its own, like an orphan, but not the
	// run's.
	tr := newTree(t, allNames...)
	if _, err := Run(context.Background(), tr.spec(t, allKinds(tr)+"\nexit 0")); err != nil {
		t.Fatal(err)
	}
	tr.check(t)
	if processGone(sp.Pid()) || zombie(sp.Pid()) {
		t.Fatalf("the idle spare %d was killed by another run's tree kill", sp.Pid())
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), Spec{Argv: []string{"/bin/false"}, Stdout: &out, Spare: sp})
	if err != nil || res.ExitCode != 0 || out.String() != "still here\n" {
		t.Errorf("the spare's own run: %v %+v %q", err, res, out.String())
	}
}

func TestSpare_CloseEndsAnUnusedSpareAndIsIdempotent(t *testing.T) {
	sp := startSpare(t, "/bin/sh", "-c", "exit 0")
	sp.Close()
	sp.Close()
	if !processGone(sp.Pid()) {
		t.Errorf("the closed spare %d is still there", sp.Pid())
	}
	res, err := Run(context.Background(), Spec{Argv: []string{"/bin/sh", "-c", "exit 4"}, Spare: sp})
	if err != nil || res.ExitCode != 4 {
		t.Errorf("a run offered a closed spare: %v %+v; want a fresh start", err, res)
	}
}

func TestStartSpare_RefusesAConfigureThatDropsWhatProcSets(t *testing.T) {
	exe, err := os.Executable()
	must(t, err)
	for name, configure := range map[string]func(*exec.Cmd) error{
		"setsid dropped":    func(c *exec.Cmd) error { c.SysProcAttr.Setsid = false; return nil },
		"pdeathsig changed": func(c *exec.Cmd) error { c.SysProcAttr.Pdeathsig = 0; return nil },
		"a file added":      func(c *exec.Cmd) error { c.ExtraFiles = append(c.ExtraFiles, os.Stdin); return nil },
		"stdout set":        func(c *exec.Cmd) error { c.Stdout = os.Stdout; return nil },
	} {
		if sp, err := StartSpare(exe, []string{spareRole, "/bin/true"}, configure); err == nil {
			sp.Close()
			t.Errorf("%s: StartSpare accepted it", name)
		}
	}
	if _, err := StartSpare(filepath.Join(t.TempDir(), "missing"), []string{spareRole}, nil); err == nil {
		t.Error("StartSpare of a missing program succeeded")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSpare_ExitsQuietlyWhenItsParentHangsUp(t *testing.T) {
	sp := startSpare(t, "/bin/sh", "-c", "exit 0")
	sp.ctrl.Close() // what the parent's exit does to the control socket
	err := sp.cmd.Wait()
	sp.mu.Lock()
	sp.closed = true // reaped here: Close must not wait again
	sp.mu.Unlock()
	if err != nil {
		t.Errorf("the spare ended with %v after its parent hung up; want a quiet exit 0", err)
	}
}

func TestSpare_ARunThatFailsBeforeItsStartClosesTheSpare(t *testing.T) {
	sp := startSpare(t, "/bin/sh", "-c", "exit 0")
	_, err := Run(context.Background(), Spec{
		Argv: []string{"/bin/true"}, Dir: filepath.Join(t.TempDir(), "missing"), Spare: sp,
	})
	if err == nil {
		t.Fatal("a run in a missing directory started")
	}
	if !processGone(sp.Pid()) {
		t.Errorf("the spare %d is left waiting after a run that never started", sp.Pid())
	}
}
