//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests drive the real sbx with plugin agents on (plugin_keepalive,
// see docs/configuration.md): the first sbx starts the plugin as a detached
// per-user agent and records it in $XDG_RUNTIME_DIR/sbx-agents-UID/KEY.json;
// later ones reattach to it. Each test has a private runtime directory, so
// it neither uses nor disturbs the agents of the user running the tests, and
// kills the agents it started when it ends.

// agentRuntime is a private XDG_RUNTIME_DIR for one test.
type agentRuntime struct {
	dir    string // XDG_RUNTIME_DIR
	agents string // dir/sbx-agents-UID, where the host keeps its agents
}

// newAgentRuntime makes a runtime directory and, at cleanup, kills every
// agent recorded in it and removes it. It is made directly under the
// temporary directory rather than with t.TempDir: the agents' Unix sockets
// live in it, and a socket path may not exceed 108 bytes.
func newAgentRuntime(t *testing.T) *agentRuntime {
	t.Helper()
	dir, err := os.MkdirTemp("", "sbx-rt-")
	must(t, err)
	rt := &agentRuntime{dir: dir, agents: filepath.Join(dir, "sbx-agents-"+strconv.Itoa(os.Getuid()))}
	t.Cleanup(func() {
		for _, st := range rt.states(t) {
			if rt.isAgent(st.Pid) {
				syscall.Kill(st.Pid, syscall.SIGKILL)
			}
		}
		for _, pid := range rt.frontAgents() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			rt.logAgentOutput(t)
		}
		os.RemoveAll(dir)
	})
	return rt
}

// sbx returns the e2e sbx command (see sbx in e2e_test.go) with plugin
// agents kept for keep (a plugin_keepalive duration) in this runtime
// directory.
func (rt *agentRuntime) sbx(t *testing.T, ws, keep string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := sbx(t, ws, args...)
	// Later entries win over the helper's SBX_PLUGIN_KEEPALIVE=0.
	// One configuration directory for the whole test: an agent serves only
	// sbx processes with the same environment (see plugins/host agentKey).
	cmd.Env = append(cmd.Env, "SBX_PLUGIN_KEEPALIVE="+keep, "XDG_RUNTIME_DIR="+rt.dir,
		"XDG_CONFIG_HOME="+filepath.Join(rt.dir, "config"))
	return cmd
}

// agentRecord is the part of the host's state file these tests read.
type agentRecord struct {
	Pid    int    `json:"pid"`
	Binary string `json:"binary"`
}

// states returns the agent state files of the runtime directory, by file
// name.
func (rt *agentRuntime) states(t *testing.T) map[string]agentRecord {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(rt.agents, "*.json"))
	out := map[string]agentRecord{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var st agentRecord
		if err := json.Unmarshal(b, &st); err != nil {
			t.Errorf("agent state file %s: %v", f, err)
			continue
		}
		out[filepath.Base(f)] = st
	}
	return out
}

// onlyAgent returns the one agent recorded in the runtime directory, and
// fails the test if there is not exactly one or it does not serve plugin.
func (rt *agentRuntime) onlyAgent(t *testing.T, plugin string) agentRecord {
	t.Helper()
	sts := rt.states(t)
	if len(sts) != 1 {
		t.Fatalf("%d agent state files in %s, want 1: %+v", len(sts), rt.agents, sts)
	}
	for _, st := range sts {
		if filepath.Base(st.Binary) != plugin || !rt.isAgent(st.Pid) {
			t.Fatalf("the recorded agent %+v is not a live %s agent of this test", st, plugin)
		}
		return st
	}
	panic("unreachable")
}

// isAgent reports whether pid is a live (not zombie) plugin process
// started as an agent of this runtime directory: its environment names the
// directory as its socket directory. A recycled pid is never mistaken for
// the agent, and nothing else is ever killed.
func (rt *agentRuntime) isAgent(pid int) bool {
	if pid <= 1 || !alive(pid) {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !strings.HasPrefix(string(comm), "sbx-backend-") {
		return false
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	return err == nil && bytes.Contains(env, []byte("\x00PLUGIN_UNIX_SOCKET_DIR="+rt.agents+"\x00"))
}

// agentsRunning counts the live agent processes of this runtime directory,
// recorded or not.
func (rt *agentRuntime) agentsRunning() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && rt.isAgent(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// frontAgents returns the live front-end agents (`sbx-cli front-agent`)
// listening in this runtime directory.
func (rt *agentRuntime) frontAgents() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !alive(pid) {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 3 && args[1] == "front-agent" && args[2] == "--socket" && filepath.Dir(args[3]) == rt.agents {
			out = append(out, pid)
		}
	}
	return out
}

// logAgentOutput prints the agents' logs (their stderr) to the test log.
func (rt *agentRuntime) logAgentOutput(t *testing.T) {
	logs, _ := filepath.Glob(filepath.Join(rt.agents, "*.log"))
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil && len(b) > 0 {
			t.Logf("agent log %s:\n%s", l, tail(b))
		}
	}
}

// alive reports whether pid exists and is not a zombie (an agent that
// exited stays a zombie until whoever inherited it reaps it).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && !strings.HasPrefix(s[i+1:], " Z") && !strings.HasPrefix(s[i+1:], " X")
}

// ancestors returns pid's parent, grandparent, ... up to init, from /proc.
func ancestors(pid int) []int {
	var out []int
	for i := 0; i < 1000 && pid > 1; i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			break
		}
		pid = 0
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PPid:"); ok {
				pid, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		out = append(out, pid)
	}
	return out
}

// commandPids returns the shells whose command line holds marker: the
// command's processes. sbx's arguments hold the marker too, and so, between
// fork and exec, do the children sbx and the plugin start (a plugin, a
// helper): only processes that are sh count.
func commandPids(marker string, sbxPid int) []int {
	var out []int
	for _, pid := range markerPids(marker) {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if pid != sbxPid && err == nil && strings.TrimSpace(string(comm)) == "sh" {
			out = append(out, pid)
		}
	}
	return out
}

// waitCommand waits until at least n processes of the command (marked
// with marker; sbx itself not counted) are running.
func waitCommand(t *testing.T, marker string, sbxPid, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(commandPids(marker, sbxPid)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the command's processes never appeared (%d of %d)", len(commandPids(marker, sbxPid)), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func contains(pids []int, pid int) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

// agentRun is one `sbx run` of TestAgent_ConsecutiveRunsShareOneAgent:
// it writes a file's bytes to stdout, waits until the test lets it go
// (so the test can look at who runs it), and exits with a code.
type agentRun struct {
	data []byte
	code int
}

func TestAgent_ConsecutiveRunsShareOneAgent(t *testing.T) {
	for _, backend := range []string{"none", "linux"} {
		t.Run(backend, func(t *testing.T) {
			rt := newAgentRuntime(t)
			ws := t.TempDir()
			var agent int
			for i, run := range []agentRun{{randomBytes(t, 1<<20), 3}, {randomBytes(t, 1<<20), 0}} {
				data, gate := fmt.Sprintf("data%d", i), fmt.Sprintf("go%d", i)
				must(t, os.WriteFile(filepath.Join(ws, data), run.data, 0o600))
				marker := uniqueMarker()
				script := fmt.Sprintf("cat %s; while [ ! -e %s ]; do sleep 0.05; done; exit %d; : %s", data, gate, run.code, marker)
				var stdout, stderr bytes.Buffer
				cmd := rt.sbx(t, ws, "5m", "--backend="+backend, "run", "--best-effort", "--", "/bin/sh", "-c", script)
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				must(t, cmd.Start())
				waitCommand(t, marker, cmd.Process.Pid, 1)

				// While the command runs: one agent is recorded, and
				// the command descends from it, not from a plugin of
				// this sbx.
				st := rt.onlyAgent(t, "sbx-backend-"+backend)
				if i == 0 {
					agent = st.Pid
				} else if st.Pid != agent {
					t.Fatalf("run %d: the recorded agent is %d, want the first run's agent %d", i+1, st.Pid, agent)
				}
				for _, pid := range commandPids(marker, cmd.Process.Pid) {
					if up := ancestors(pid); !contains(up, agent) {
						t.Errorf("run %d: the command (pid %d, ancestors %v) does not run under the agent %d", i+1, pid, up, agent)
					}
				}
				if i > 0 {
					if p := childNamed(cmd.Process.Pid, "sbx-backend-"); p != 0 {
						t.Errorf("run %d: sbx started a plugin of its own (pid %d) instead of reattaching", i+1, p)
					}
				}
				if n := rt.agentsRunning(); len(n) != 1 || n[0] != agent {
					t.Errorf("run %d: agents of this test running: %v, want only %d (the plugin was started twice)", i+1, n, agent)
				}

				must(t, os.WriteFile(filepath.Join(ws, gate), nil, 0o600))
				if got := exitCode(t, cmd.Wait()); got != run.code {
					t.Fatalf("run %d: exit %d, want %d; stderr:\n%s", i+1, got, run.code, tail(stderr.Bytes()))
				}
				if !bytes.Equal(stdout.Bytes(), run.data) {
					t.Fatalf("run %d: stdout is %d bytes, not the %d bytes of the file", i+1, stdout.Len(), len(run.data))
				}
				// The agent outlives the sbx that started or reached it.
				if !rt.isAgent(agent) {
					t.Fatalf("run %d: the agent %d exited with sbx", i+1, agent)
				}
			}
		})
	}
}

func TestAgent_SbxKilledWithSIGKILLLeavesNothingButTheAgent(t *testing.T) {
	for _, backend := range []string{"none", "linux"} {
		t.Run(backend, func(t *testing.T) {
			rt := newAgentRuntime(t)
			ws := t.TempDir()
			// A first run starts the agent; the killed sbx only
			// reattaches to it, as every sbx but the first does.
			warm := rt.sbx(t, ws, "5m", "--backend="+backend, "run", "--best-effort", "--", "true")
			if code := exitCode(t, warm.Run()); code != 0 {
				t.Fatalf("first run: exit %d", code)
			}
			agent := rt.onlyAgent(t, "sbx-backend-"+backend).Pid

			marker := uniqueMarker()
			cmd := rt.sbx(t, ws, "5m", "--backend="+backend, "run", "--best-effort", "--", "/bin/sh", "-c",
				fmt.Sprintf("sh -c 'sleep 1000; : %[1]s' & setsid sh -c 'sleep 1000; : %[1]s' & (sh -c 'sleep 1000; : %[1]s' &) ; wait", marker))
			must(t, cmd.Start())
			waitCommand(t, marker, cmd.Process.Pid, 4) // sh and its three children
			must(t, cmd.Process.Signal(syscall.SIGKILL))
			cmd.Wait()
			// The agent sees the host hang up, cancels the run and
			// kills its whole tree, setsid and double-forked children
			// included...
			waitGone(t, marker)
			// ...and stays, for the next sbx.
			if !rt.isAgent(agent) {
				t.Fatalf("the agent %d exited when the sbx using it was killed", agent)
			}
			after := rt.sbx(t, ws, "5m", "--backend="+backend, "run", "--best-effort", "--", "/bin/sh", "-c", "exit 9")
			if code := exitCode(t, after.Run()); code != 9 {
				t.Fatalf("run after the kill: exit %d, want 9", code)
			}
			if got := rt.onlyAgent(t, "sbx-backend-"+backend).Pid; got != agent {
				t.Fatalf("the run after the kill used agent %d, want %d", got, agent)
			}
		})
	}
}

func TestAgent_ExitsAfterItsIdleTime(t *testing.T) {
	rt := newAgentRuntime(t)
	ws := t.TempDir()
	cmd := rt.sbx(t, ws, "1s", "--backend=none", "run", "--best-effort", "--", "true")
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("exit %d", code)
	}
	agent := rt.onlyAgent(t, "sbx-backend-none").Pid
	// Not a timing assertion: the bound only keeps a broken agent from
	// hanging the suite.
	deadline := time.Now().Add(30 * time.Second)
	for rt.isAgent(agent) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent %d is still running 30s after its last call, with a 1s keep-alive", agent)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The state file it left behind is stale: the next sbx starts a new
	// agent and runs normally.
	next := rt.sbx(t, ws, "5m", "--backend=none", "run", "--best-effort", "--", "/bin/sh", "-c", "exit 4")
	if code := exitCode(t, next.Run()); code != 4 {
		t.Fatalf("run after the agent exited: exit %d, want 4", code)
	}
	rt.onlyAgent(t, "sbx-backend-none")
}
