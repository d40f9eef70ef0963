package host

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins"
	"github.com/sbxdev/sbx/plugins/agentenv"
	"github.com/sbxdev/sbx/plugins/internal/peercred"
	"github.com/sbxdev/sbx/plugins/internal/wire"
)

// Plugin agents (Options.KeepAlive) keep plugin start-up off the path of
// every command: the first sbx that needs a plugin starts it detached, in
// its own session, and records how to reach it; later ones reattach to it
// over a Unix socket in a directory only this user can enter, and it exits
// by itself after KeepAlive without calls.
//
// An agent can run commands under any policy, so it must never answer a
// sandboxed process: it accepts a connection only when the peer runs as
// the same user, in the same pid namespace, without no_new_privs (see
// plugins/internal/peercred). Every sbx Linux sandbox sets no_new_privs,
// which no process can clear.

const agentSupported = true

// agentState is what the host records about a running agent.
type agentState struct {
	Pid    int    `json:"pid"`
	Addr   string `json:"addr"`    // go-plugin's gRPC socket
	FDAddr string `json:"fd_addr"` // the descriptor socket
	Binary string `json:"binary"`
}

// agentDir returns this user's agent directory, creating it 0700, and
// refuses one that another user owns or others can enter.
func agentDir(getenv func(string) string) (string, error) {
	base := getenv("XDG_RUNTIME_DIR")
	if base == "" {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "sbx-agents-"+strconv.Itoa(os.Getuid()))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.IsDir() || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("agent directory %s is not a private directory of this user", dir)
	}
	return dir, nil
}

// agentKey names the agent of one plugin binary in one environment: a new
// or changed binary (path, size, modification time, pinned checksum) gets a
// new agent, and so does a change in the environment variables a plugin may
// depend on (AgentEnv). TMPDIR, for one, decides which temporary directory a
// policy makes writable, so an agent started with one must never serve a
// host with another. Other variables do not split agents: tools that set a
// variable of their own on every call (hyperfine does) would otherwise start
// an agent per command. The process context (agentenv.ProcessContext: cgroup,
// groups, resource limits, nice value) splits them too: a command inherits
// those from the agent that starts it, so a CI job's commands must run in
// that job's cgroup, not in one an earlier job's agent lives in.
func agentKey(path, pin string, env []string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\x00%s\x00%s\x00", path, fi.Size(), fi.ModTime().UnixNano(), pin, plugins.APIVersion, agentenv.ProcessContext())
	var kept []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if AgentEnv(k) {
			kept = append(kept, kv)
		}
	}
	sort.Strings(kept)
	for _, kv := range kept {
		h.Write([]byte(kv))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// startAgent returns a connection to the agent serving path, starting the
// agent if none is running.
func (h *Host) startAgent(ctx context.Context, path string) (*pluginProc, error) {
	dir, err := agentDir(h.getenv)
	if err != nil {
		return nil, err
	}
	pin, pinned := h.pin(binaryBase(path))
	key, err := agentKey(path, pin, h.environ())
	if err != nil {
		return nil, err
	}
	statePath := filepath.Join(dir, key+".json")

	// One host at a time starts an agent for a binary.
	lock, err := os.OpenFile(filepath.Join(dir, key+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, err
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)

	if st, err := readAgentState(statePath, dir); err == nil {
		if p, err := h.reattach(ctx, path, st); err == nil {
			return p, nil
		}
	} else if errors.Is(err, errAgentGone) {
		// Clear what an agent that idled out (or died) left behind.
		for _, f := range []string{st.Addr, st.FDAddr, statePath, filepath.Join(dir, key+".log")} {
			if f != "" && filepath.Dir(f) == dir {
				_ = os.Remove(f)
			}
		}
	}
	if pinned {
		if err := checkSum(path, pin); err != nil {
			return nil, err
		}
	}
	st, err := h.spawnAgent(path, dir, key)
	if err != nil {
		return nil, err
	}
	spare(st.Pid) // it outlives this host
	b, _ := json.Marshal(st)
	tmp := statePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, statePath); err != nil {
		return nil, err
	}
	return h.reattach(ctx, path, st)
}

// errAgentGone: the recorded agent process no longer exists.
var errAgentGone = errors.New("agent is gone")

func readAgentState(path, dir string) (agentState, error) {
	var st agentState
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, err
	}
	for _, a := range []string{st.Addr, st.FDAddr} {
		if filepath.Dir(a) != dir {
			return st, fmt.Errorf("agent state %s points outside %s", path, dir)
		}
	}
	if st.Pid <= 1 || unix.Kill(st.Pid, 0) != nil {
		return st, errAgentGone
	}
	return st, nil
}

// spawnAgent starts the plugin at path as a detached agent and reads its
// go-plugin handshake line.
func (h *Host) spawnAgent(path, dir, key string) (agentState, error) {
	fdAddr := filepath.Join(dir, key+".fd")
	cmd := exec.Command(path)
	cmd.Env = append(h.environ(),
		plugins.Handshake.MagicCookieKey+"="+plugins.Handshake.MagicCookieValue,
		fmt.Sprintf("PLUGIN_PROTOCOL_VERSIONS=%d", plugins.ProtocolVersion),
		"PLUGIN_UNIX_SOCKET_DIR="+dir,
		plugins.EnvAgentIdle+"="+h.opts.KeepAlive.String(),
		plugins.EnvAgentFDSocket+"="+fdAddr,
	)
	// Its own session, no parent-death signal: it outlives this sbx.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	logf, err := os.OpenFile(filepath.Join(dir, key+".log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return agentState{}, err
	}
	defer logf.Close()
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return agentState{}, err
	}
	if err := cmd.Start(); err != nil {
		return agentState{}, fmt.Errorf("plugin %s failed to start: %v: %w", path, err, core.ErrBackendExited)
	}
	lineCh := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lineCh <- line
		// go-plugin writes nothing more to its original stdout; keep
		// the pipe drained anyway so it can never block.
		io.Copy(io.Discard, out)
	}()
	// Reap it if it dies while we are still here; after that it belongs
	// to whoever inherits it.
	go cmd.Wait()
	var line string
	select {
	case line = <-lineCh:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return agentState{}, fmt.Errorf("plugin %s did not answer within 30s: %w", path, core.ErrBackendExited)
	}
	if strings.TrimSpace(line) == "" {
		cmd.Process.Kill()
		return agentState{}, fmt.Errorf("plugin %s exited before its handshake as an agent (%s): %w",
			path, logTail(filepath.Join(dir, key+".log")), core.ErrBackendExited)
	}
	parts := strings.Split(strings.TrimSpace(line), "|")
	if len(parts) < 5 || parts[2] != "unix" || parts[4] != "grpc" {
		cmd.Process.Kill()
		return agentState{}, startError(path, binaryBase(path),
			fmt.Errorf("unexpected handshake %q (incompatible api version or not an sbx plugin)", strings.TrimSpace(line)), false)
	}
	if parts[1] != strconv.Itoa(plugins.ProtocolVersion) {
		cmd.Process.Kill()
		return agentState{}, startError(path, binaryBase(path),
			fmt.Errorf("incompatible api version with plugin: plugin version %s, client version %d", parts[1], plugins.ProtocolVersion), false)
	}
	return agentState{Pid: cmd.Process.Pid, Addr: parts[3], FDAddr: fdAddr, Binary: path}, nil
}

// logTail returns the last line of an agent's log, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if t := strings.TrimSpace(lines[len(lines)-1]); t != "" {
		return "log: " + t
	}
	return "empty log"
}

// reattach connects to a running agent and says hello. It first checks
// that the process serving the recorded socket is the recorded agent and
// is not sandboxed: with writable temporary directories a sandboxed
// process of the same user could plant a socket or a state file, and must
// get neither the policy nor the user's descriptors.
func (h *Host) reattach(ctx context.Context, path string, st agentState) (*pluginProc, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: st.Addr, Net: "unix"})
	if err != nil {
		return nil, err
	}
	err = peercred.CheckServer(c, st.Pid)
	c.Close()
	if err != nil {
		return nil, err
	}
	logOut := h.opts.Stderr
	if logOut == nil {
		logOut = io.Discard
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: plugins.Handshake,
		// On reattach go-plugin negotiates nothing: it uses Plugins.
		Plugins:          wire.PluginSets(nil)[plugins.ProtocolVersion],
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  dialOptions(),
		Reattach: &plugin.ReattachConfig{
			Protocol:        plugin.ProtocolGRPC,
			ProtocolVersion: plugins.ProtocolVersion,
			Addr:            &net.UnixAddr{Name: st.Addr, Net: "unix"},
			Pid:             st.Pid,
			// Test: the host does not own the process; Kill must not
			// stop it.
			Test: true,
		},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "sbx-host", Level: hclog.Error, Output: logOut}),
	})
	p, err := h.connect(ctx, path, client)
	if err != nil {
		return nil, err
	}
	p.fdAddr = st.FDAddr
	p.agent = true
	p.pid = st.Pid
	return p, nil
}

// agentAlive reports whether the agent process pid still exists. go-plugin
// notices a reattached process's death only by polling; a Host that lives
// long (the sbx front-end agent) asks before each use, so that an agent
// killed or crashed since the last command is reattached or started again
// instead of failing the next command.
func agentAlive(pid int) bool {
	if pid <= 0 || unix.Kill(pid, 0) != nil {
		return false
	}
	// A dead agent whose parent has not reaped it yet is a zombie.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z' && b[i+2] != 'X'
}

// checkSum verifies a pinned checksum before an agent is started (go-plugin
// cannot check one on reattach).
func checkSum(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	hs := sha256.New()
	if _, err := io.Copy(hs, f); err != nil {
		return err
	}
	if hex.EncodeToString(hs.Sum(nil)) != want {
		return startError(path, binaryBase(path), plugin.ErrChecksumsDoNotMatch, true)
	}
	return nil
}

// AgentInfo describes a plugin agent recorded in this user's agent
// directory.
type AgentInfo struct {
	// Pid is the agent's process.
	Pid int `json:"pid"`
	// Binary is the plugin binary it runs.
	Binary string `json:"binary"`
	// Running is false for a record whose process is gone (or now runs
	// something else); the next host to need the plugin clears it.
	Running bool `json:"running"`
}

// Agents lists the plugin agents recorded in this user's agent directory
// (the one hosts with the environment getenv reads use). Linux only; nil
// elsewhere.
func Agents(getenv func(string) string) ([]AgentInfo, error) {
	dir, err := agentDir(getenv)
	if err != nil {
		return nil, err
	}
	return AgentRecords(filepath.Join(dir, "*.json")), nil
}

// AgentRecords reads the agent records matching the glob pattern: JSON
// objects with the agent's "pid" and "binary" (what a plugin agent's
// state file and the sbx front-end agent's record hold), sorted by pid.
// Records that cannot be read are skipped.
func AgentRecords(pattern string) []AgentInfo {
	files, _ := filepath.Glob(pattern)
	var out []AgentInfo
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var st agentState
		if json.Unmarshal(b, &st) != nil || st.Pid <= 1 || st.Binary == "" {
			continue
		}
		out = append(out, AgentInfo{Pid: st.Pid, Binary: st.Binary, Running: agentAlive(st.Pid) && RunsBinary(st.Pid, st.Binary)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pid < out[j].Pid })
	return out
}

// RunsBinary reports whether process pid runs the executable at path (or
// ran it before the file was replaced), so that a recycled pid is never
// mistaken for an agent.
func RunsBinary(pid int, path string) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return false
	}
	return exe == path || exe == path+" (deleted)"
}

// StopAgent asks the agent a to stop with SIGTERM, on which it cancels
// the runs it serves (killing their process trees) and exits. A record
// whose process is gone, or runs something else now, is left alone.
func StopAgent(a AgentInfo) error {
	if !agentAlive(a.Pid) || !RunsBinary(a.Pid, a.Binary) {
		return nil
	}
	return unix.Kill(a.Pid, unix.SIGTERM)
}
