//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
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

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// These tests drive the lean front end (bin/sbx, cmd/sbx/front) and its
// resident agent (`sbx-cli front-agent`): the first `sbx run` runs cold and
// starts the agent; later ones hand their arguments, environment, current
// directory and streams to it. What they prove is what a user must not be
// able to tell apart from the cold path, plus the agent's own rules: a
// sandboxed caller gets nothing from it, and a caller that dies takes its
// command with it.

// warmFront runs one command so that the front-end agent of this runtime
// directory is started, and returns its pid.
func (rt *agentRuntime) warmFront(t *testing.T, ws string, env ...string) int {
	t.Helper()
	cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "true")
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); exitCode(t, err) != 0 {
		t.Fatalf("first run: %v\n%s", err, tail(out))
	}
	// Not a timing assertion: the bound only keeps a broken start from
	// hanging the suite.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if pids := rt.frontAgents(); len(pids) == 1 {
			if socks, _ := filepath.Glob(filepath.Join(rt.agents, "front-*.sock")); len(socks) == 1 {
				return pids[0]
			}
		} else if len(pids) > 1 {
			t.Fatalf("front-end agents running: %v, want one", pids)
		}
		if time.Now().After(deadline) {
			rt.logAgentOutput(t)
			t.Fatal("the first run did not leave a front-end agent listening")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exeOf returns the executable a process runs.
func exeOf(pid int) string {
	p, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return p
}

func TestFront_RunsAreServedByTheAgentWithEachCallersEnvironmentDirectoryAndStreams(t *testing.T) {
	rt := newAgentRuntime(t)
	agent := rt.warmFront(t, t.TempDir())
	for i, tc := range []struct{ foo, data string }{{"one", "first stdin"}, {"two", "second\x00stdin\xff"}} {
		ws := t.TempDir() // another directory each time
		marker := uniqueMarker()
		gate := filepath.Join(ws, "go")
		script := fmt.Sprintf(`cat; printf '|%%s|%%s' "$FOO" "$PWD"; while [ ! -e %s ]; do sleep 0.02; done; exit 7; : %s`, gate, marker)
		cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c", script)
		// Another HOME and PATH each time (a venv, another shell): the
		// one agent serves them all, with a plugin host for each.
		cmd.Env = append(cmd.Env, "FOO="+tc.foo, "HOME="+ws, "PATH="+t.TempDir()+":"+os.Getenv("PATH"))
		cmd.Stdin = strings.NewReader(tc.data)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		must(t, cmd.Start())
		waitCommand(t, marker, cmd.Process.Pid, 1)
		// Served by the agent: the front end is still itself (on the
		// cold path it would have become sbx-cli), and the command does
		// not descend from it.
		if exe := exeOf(cmd.Process.Pid); filepath.Base(exe) != "sbx" {
			t.Errorf("run %d: the front end runs %s; want it waiting on the agent", i+1, exe)
		}
		for _, pid := range commandPids(marker, cmd.Process.Pid) {
			if contains(ancestors(pid), cmd.Process.Pid) {
				t.Errorf("run %d: the command descends from the front end: it ran cold", i+1)
			}
		}
		must(t, os.WriteFile(gate, nil, 0o600))
		if code := exitCode(t, cmd.Wait()); code != 7 {
			t.Fatalf("run %d: exit %d, want 7; stderr:\n%s", i+1, code, tail(stderr.Bytes()))
		}
		if want := tc.data + "|" + tc.foo + "|" + ws; stdout.String() != want {
			t.Errorf("run %d: stdout %q, want %q", i+1, stdout.String(), want)
		}
	}
	if got := rt.frontAgents(); len(got) != 1 || got[0] != agent {
		t.Errorf("front-end agents %v, want the first one (%d) only", got, agent)
	}
}

func TestFront_SandboxedCallerCannotUseTheAgentToEscape(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	// The host's /tmp is not writable (the workspace and the target are
	// both under it): Landlock can then keep .git read-only in the
	// workspace, and the write below aims outside every writable root.
	// TMPDIR is in the workspace, for the inner sbx's plugin socket; it
	// is the same for every command here, so that the inner front end
	// computes the outer agent's socket and really asks it.
	tmp := filepath.Join(ws, "tmp")
	must(t, os.Mkdir(tmp, 0o700))
	env := []string{"SBX_WRITABLE_TMP=false", "TMPDIR=" + tmp}
	rt.warmFront(t, ws, env...)
	landlock := func(args ...string) *exec.Cmd {
		cmd := rt.sbx(t, ws, "5m", append([]string{"--backend=linux-landlock", "run"}, args...)...)
		cmd.Env = append(cmd.Env, env...)
		return cmd
	}
	probe := landlock("--", "true")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("linux-landlock cannot run here: %v\n%s", err, tail(out))
	}
	outside := filepath.Join(t.TempDir(), "escaped")
	// Inside the sandbox, ask for no sandbox at all: the agent outside
	// must refuse the caller (it runs with no_new_privs), so the inner
	// sbx runs inside the sandbox and the write is refused.
	inner := fmt.Sprintf("%s --backend=none run --best-effort -- sh -c 'echo x > %s'", filepath.Join(binDir, "sbx"), outside)
	out, err := landlock("--", "/bin/sh", "-c", inner).CombinedOutput()
	if exitCode(t, err) == 0 {
		t.Errorf("the inner write reported success:\n%s", tail(out))
	}
	if !bytes.Contains(out, []byte("escaped: Permission denied")) {
		t.Errorf("want the shell's permission error for the write, got:\n%s", out)
	}
	// And the agent was asked, and said no.
	logs, _ := filepath.Glob(filepath.Join(rt.agents, "front-*.sock.log"))
	var log []byte
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		log = append(log, b...)
	}
	if !bytes.Contains(log, []byte("refused a client")) || !bytes.Contains(log, []byte("no_new_privs")) {
		t.Errorf("the front-end agent's log does not show the sandboxed caller refused:\n%s", log)
	}
	if _, err := os.Stat(outside); err == nil {
		t.Fatalf("a command inside linux-landlock wrote %s through the front-end agent:\n%s", outside, tail(out))
	}
}

func TestFront_KilledFrontEndTakesItsCommandWithIt(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	agent := rt.warmFront(t, ws)
	marker := uniqueMarker()
	cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c",
		fmt.Sprintf("setsid sh -c 'sleep 1000; : %[1]s' & sleep 1000; : %[1]s", marker))
	must(t, cmd.Start())
	waitCommand(t, marker, cmd.Process.Pid, 2)
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	waitGone(t, marker)
	if got := rt.frontAgents(); len(got) != 1 || got[0] != agent {
		t.Errorf("front-end agents %v after the kill, want %d still serving", got, agent)
	}
}

func TestFront_SignalsReachTheCommand(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	rt.warmFront(t, ws)
	marker := uniqueMarker()
	cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c",
		fmt.Sprintf("trap 'exit 42' TERM; while :; do sleep 0.02; done; : %s", marker))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	waitCommand(t, marker, cmd.Process.Pid, 1)
	must(t, cmd.Process.Signal(syscall.SIGTERM))
	if code := exitCode(t, cmd.Wait()); code != 42 {
		t.Fatalf("exit %d, want 42 (the command's TERM trap); stderr:\n%s", code, tail(stderr.Bytes()))
	}
}

func TestFront_OtherCommandsAndKeepAliveZeroRunTheFullCLI(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	rt.warmFront(t, ws)
	// Declined by the agent, run by sbx-cli: the same output as sbx-cli's.
	got, err := rt.sbx(t, ws, "5m", "version").Output()
	must(t, err)
	direct := exec.Command(filepath.Join(binDir, "sbx-cli"), "version")
	direct.Env = rt.sbx(t, ws, "5m").Env
	want, err := direct.Output()
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("sbx version through the front end:\n%s\nwant sbx-cli's:\n%s", got, want)
	}

	// plugin_keepalive = "0": nothing resident is started.
	cold := newAgentRuntime(t)
	cmd := cold.sbx(t, ws, "0", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c", "exit 5")
	if code := exitCode(t, cmd.Run()); code != 5 {
		t.Fatalf("exit %d, want 5", code)
	}
	if got := cold.frontAgents(); len(got) != 0 {
		t.Errorf("front-end agents %v started with plugin_keepalive = 0", got)
	}
}

func TestFront_TerminalSessionThroughTheAgentFollowsResizes(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	rt.warmFront(t, ws, "TERM=dumb")
	cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-i")
	ptmx, out, send, expect := shellSession(t, cmd)
	if exe := exeOf(cmd.Process.Pid); filepath.Base(exe) != "sbx" {
		t.Fatalf("the front end runs %s: the session ran cold, not through the agent", exe)
	}
	send("stty size | sed 's/ /x/'\n")
	expect("33x101")
	// The kernel signals the front end (the terminal's foreground
	// process); the agent resizes the command's terminal.
	must(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 21, Cols: 77}))
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "21x77") {
		if time.Now().After(deadline) {
			t.Fatalf("the resize never reached the command; output:\n%s", out.String())
		}
		send("stty size | sed 's/ /x/'\n")
		time.Sleep(100 * time.Millisecond)
	}
	send("exit 7\n")
	if got := exitCode(t, cmd.Wait()); got != 7 {
		t.Fatalf("exit %d, want 7; output:\n%s", got, out.String())
	}
}

func TestFront_APluginAgentThatDiedIsReplacedForTheNextCommand(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	front := rt.warmFront(t, ws)
	old := rt.onlyAgent(t, "sbx-backend-none").Pid
	must(t, syscall.Kill(old, syscall.SIGKILL))
	for rt.isAgent(old) {
		time.Sleep(10 * time.Millisecond)
	}
	var stdout, stderr bytes.Buffer
	cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c", "echo served; exit 4")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if code := exitCode(t, cmd.Run()); code != 4 || stdout.String() != "served\n" {
		t.Fatalf("exit %d, stdout %q, want 4 and \"served\"; stderr:\n%s", code, stdout.String(), tail(stderr.Bytes()))
	}
	if got := rt.frontAgents(); len(got) != 1 || got[0] != front {
		t.Errorf("front-end agents %v, want %d still serving", got, front)
	}
	if now := rt.onlyAgent(t, "sbx-backend-none").Pid; now == old {
		t.Errorf("the dead plugin agent %d is still the recorded one", old)
	}
}

// Agents run with the mask of whoever started them; each command must get
// its caller's, through the front-end agent and through a plugin agent.
func TestFront_CommandsGetTheirCallersUmask(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	rt.warmFront(t, ws)
	for _, path := range []struct{ name, front string }{{"FrontEndAgent", "1"}, {"PluginAgentOnly", "0"}} {
		for _, mask := range []string{"0077", "0002"} {
			t.Run(path.name+"/"+mask, func(t *testing.T) {
				cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c", "umask")
				// Set the mask, then become sbx.
				cmd.Args = append([]string{"/bin/sh", "-c", `umask ` + mask + `; exec "$0" "$@"`, cmd.Path}, cmd.Args[1:]...)
				cmd.Path = "/bin/sh"
				cmd.Env = append(cmd.Env, "SBX_FRONT="+path.front)
				out, err := cmd.Output()
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSpace(string(out)); got != mask {
					t.Errorf("the command's umask is %s, want the caller's %s", got, mask)
				}
			})
		}
	}
}

// Build tools and CI run many commands at once (make -j): the agent serves
// them concurrently, each with its own streams, environment and status.
func TestFront_ConcurrentRunsKeepTheirOwnStreamsAndStatus(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	agent := rt.warmFront(t, ws)
	const n = 16
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c", `cat; printf ':%s' "$N"; exit "$N"`)
			cmd.Env = append(cmd.Env, fmt.Sprintf("N=%d", i))
			in := fmt.Sprintf("stdin of run %d", i)
			cmd.Stdin = strings.NewReader(in)
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			code := 0
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					errs <- fmt.Errorf("run %d: %v", i, err)
					return
				}
				code = ee.ExitCode()
			}
			if want := fmt.Sprintf("%s:%d", in, i); code != i || stdout.String() != want {
				errs <- fmt.Errorf("run %d: exit %d, stdout %q; want %d and %q", i, code, stdout.String(), i, want)
				return
			}
			errs <- nil
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := rt.frontAgents(); len(got) != 1 || got[0] != agent {
		t.Errorf("front-end agents %v, want %d alone", got, agent)
	}
}

// sbx agents lists the resident processes sbx keeps, and --stop ends them:
// a user must be able to see and stop what runs in their name.
func TestAgents_ListedAndStopped(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	front := rt.warmFront(t, ws)
	plugin := rt.onlyAgent(t, "sbx-backend-none").Pid

	var rows []struct {
		Kind    string `json:"kind"`
		Pid     int    `json:"pid"`
		Binary  string `json:"binary"`
		Running bool   `json:"running"`
	}
	out, err := rt.sbx(t, ws, "5m", "agents", "--json").Output()
	must(t, err)
	must(t, json.Unmarshal(out, &rows))
	seen := map[string]int{}
	for _, r := range rows {
		if r.Running {
			seen[r.Kind] = r.Pid
		}
	}
	if seen["front-end"] != front || seen["plugin"] != plugin {
		t.Fatalf("sbx agents --json: %s; want the front-end agent %d and the plugin agent %d running", out, front, plugin)
	}

	out, err = rt.sbx(t, ws, "5m", "agents", "--stop").CombinedOutput()
	if err != nil {
		t.Fatalf("sbx agents --stop: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for alive(front) || rt.isAgent(plugin) {
		if time.Now().After(deadline) {
			t.Fatalf("agents still running after --stop (front-end %v, plugin %v):\n%s", alive(front), rt.isAgent(plugin), out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err = rt.sbx(t, ws, "5m", "agents").Output()
	must(t, err)
	if strings.Contains(string(out), "running") {
		t.Errorf("sbx agents after --stop:\n%s", out)
	}
	// The next command starts what it needs again.
	if code := exitCode(t, rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c", "exit 6").Run()); code != 6 {
		t.Fatalf("run after --stop: exit %d, want 6", code)
	}
}

func TestAgents_StopCancelsRunsInFlightAndKillsTheirTrees(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	rt.warmFront(t, ws)
	marker := uniqueMarker()
	var stderr bytes.Buffer
	cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c",
		fmt.Sprintf("setsid sh -c 'sleep 1000; : %[1]s' & sleep 1000; : %[1]s", marker))
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	waitCommand(t, marker, cmd.Process.Pid, 2)
	if out, err := rt.sbx(t, ws, "5m", "agents", "--stop").CombinedOutput(); err != nil {
		t.Fatalf("sbx agents --stop: %v\n%s", err, out)
	}
	if code := exitCode(t, cmd.Wait()); code == 0 {
		t.Errorf("the run in flight exited 0 after its agent was stopped; stderr:\n%s", tail(stderr.Bytes()))
	}
	waitGone(t, marker)
}

func TestFront_WithoutSbxCliBesideItSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(binDir, "sbx"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "sbx"), b, 0o755))
	cmd := exec.Command(filepath.Join(dir, "sbx"), "version")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if code := exitCode(t, err); code != 125 || !strings.Contains(string(out), "sbx-cli is missing beside") || !strings.Contains(string(out), "install both binaries") {
		t.Fatalf("exit %d, output %q: want 125 and what to do", code, out)
	}
}

// A front end killed in the middle of a terminal session must not leave the
// user's terminal raw: the agent that put it in raw mode restores it when
// it cancels the run.
func TestFront_KilledTerminalSessionLeavesTheTerminalAsItWas(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	rt.warmFront(t, ws)
	tty, _ := newTerminal(t)
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	must(t, err)

	marker := uniqueMarker()
	cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c", "sleep 1000; : "+marker)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	must(t, cmd.Start())
	waitCommand(t, marker, cmd.Process.Pid, 1)
	raw, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	must(t, err)
	if raw.Lflag&unix.ICANON != 0 {
		t.Fatal("the terminal is not in raw mode during the session: the test proves nothing")
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	waitGone(t, marker)
	deadline := time.Now().Add(20 * time.Second)
	for {
		after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		must(t, err)
		if after.Lflag == before.Lflag && after.Iflag == before.Iflag && after.Oflag == before.Oflag {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal stayed changed after the front end died: lflag %#x, want %#x", after.Lflag, before.Lflag)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// `sbx run -- make &` in an interactive shell: the job is in the background
// of the terminal. Job control must stop it when it wants to make the
// terminal raw (as it stops the CLI with SIGTTOU), not let an agent, which
// is outside the session and never stopped, turn the shell's terminal raw.
func TestFront_BackgroundJobOnATerminalIsStoppedNotMadeRaw(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash for job control")
	}
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	rt.warmFront(t, ws)
	tty, out := newTerminal(t)

	marker := uniqueMarker()
	job := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c", "sleep 1000; : "+marker)
	shell := exec.Command("bash", append([]string{"-c", `set -m; "$@" & echo $! > job.pid; exec sleep 1000`, "bash", job.Path}, job.Args[1:]...)...)
	shell.Env, shell.Dir = job.Env, ws
	shell.Stdin, shell.Stdout, shell.Stderr = tty, tty, tty
	shell.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	must(t, shell.Start())
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(ws, "job.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
		shell.Process.Kill()
		shell.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err == nil && st.Lflag&unix.ICANON == 0 {
			t.Fatal("the background job made the terminal raw")
		}
		b, _ := os.ReadFile(filepath.Join(ws, "job.pid"))
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && processState(pid) == 'T' {
			break // stopped by job control, terminal untouched
		}
		if time.Now().After(deadline) {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			t.Fatalf("the background job was neither stopped nor did it touch the terminal (job %q: %s); terminal:\n%s", b, st, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(commandPids(marker, 0)) != 0 {
		t.Error("the command started although its job is stopped")
	}
}

// newTerminal opens a 24x80 pty for a test: its terminal side, to give to
// the processes under test, and everything written to it. Both ends close
// when the test ends.
func newTerminal(t *testing.T) (*os.File, *syncBuffer) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	must(t, err)
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	must(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80}))
	out := &syncBuffer{}
	go io.Copy(out, ptmx)
	return tty, out
}

// processState is the state letter of pid in /proc (R, S, T, Z...), or 0.
func processState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || len(b) < i+3 {
		return 0
	}
	return b[i+2]
}

// A command inherits resource limits (and cgroups, groups, nice value)
// from the agent that starts it: callers whose limits differ must not share
// an agent, so that each command gets its caller's.
func TestFront_CommandsGetTheirCallersResourceLimits(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	rt.warmFront(t, ws)
	for _, limit := range []string{"0", "1024", "0"} {
		cmd := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c", "ulimit -c")
		cmd.Args = append([]string{"/bin/sh", "-c", `ulimit -S -c ` + limit + `; exec "$0" "$@"`, cmd.Path}, cmd.Args[1:]...)
		cmd.Path = "/bin/sh"
		out, err := cmd.Output()
		must(t, err)
		if got := strings.TrimSpace(string(out)); got != limit {
			t.Errorf("caller with ulimit -c %s: the command sees %s", limit, got)
		}
	}
}

func TestRun_DescriptorsTheCallerLeftOpenNeverReachACommand(t *testing.T) {
	// A caller with a descriptor open and not close-on-exec (here fd 3, a
	// file outside the workspace open for appending) starts sbx; without
	// care that descriptor would reach every process sbx starts: the
	// command (a way around the write boundary), and the resident agents,
	// which then hand it to the commands of later callers too.
	for _, backend := range []string{"none", "linux-landlock", "linux-namespaces"} {
		for _, keep := range []string{"0", "5m"} {
			t.Run(backend+"/keepalive="+keep, func(t *testing.T) {
				rt := newAgentRuntime(t)
				ws := t.TempDir()
				leak := filepath.Join(t.TempDir(), "leak.txt")
				f, err := os.OpenFile(leak, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				must(t, err)
				defer f.Close()
				script := `(echo escaped >&3) 2>/dev/null; ls /proc/$$/fd`
				for i, withFD := range []bool{true, false} {
					cmd := rt.sbx(t, ws, keep, "--backend="+backend, "run", "--best-effort", "--", "/bin/sh", "-c", script)
					if withFD {
						cmd.ExtraFiles = []*os.File{f}
					}
					out, err := cmd.Output()
					if code := exitCode(t, err); code != 0 {
						if i == 0 && backend != "none" {
							t.Skipf("backend %s cannot run here: exit %d: %s", backend, code, out)
						}
						t.Fatalf("run %d: exit %d: %s", i+1, code, out)
					}
					if got := strings.Fields(string(out)); strings.Join(got, " ") != "0 1 2" {
						t.Errorf("run %d (caller's fd 3 open: %v): the command's descriptors are %v, want only 0 1 2", i+1, withFD, got)
					}
				}
				if b, _ := os.ReadFile(leak); len(b) > 0 {
					t.Errorf("a command wrote through the caller's descriptor: %q", b)
				}
			})
		}
	}
}
