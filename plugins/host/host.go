package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins"
	"github.com/sbxdev/sbx/plugins/agentenv"
	"github.com/sbxdev/sbx/plugins/internal/fdpass"
	"github.com/sbxdev/sbx/plugins/internal/peercred"
	"github.com/sbxdev/sbx/plugins/internal/wire"
	pb "github.com/sbxdev/sbx/plugins/proto/backendv1"
)

// StdioMode says how a run's standard streams reach a plugin.
type StdioMode string

const (
	// StdioAuto passes the host's file descriptors when the plugin is
	// local and supports it, and streams otherwise.
	StdioAuto StdioMode = ""
	// StdioStream always streams stdin, stdout and stderr as messages (the
	// path a backend on another machine needs); for testing that path.
	StdioStream StdioMode = "stream"
)

// Options configure a Host.
type Options struct {
	// Dirs are extra plugin directories, searched after the sbx
	// executable's own directory and $SBX_PLUGIN_PATH.
	Dirs []string
	// Pins maps a plugin binary name ("sbx-backend-foo") to the hex SHA-256
	// it must have. A plugin whose checksum differs is not run.
	Pins map[string]string
	// Stderr receives plugin log output; nil discards it.
	Stderr io.Writer
	// Stdio selects how standard streams reach plugins.
	Stdio StdioMode
	// Subreaper makes this process a child subreaper (Linux), so that
	// processes a crashed plugin leaves behind are reparented here and
	// killed. The sbx CLI sets it; an embedding program that manages its
	// own children should leave it off.
	Subreaper bool
	// KeepAlive, when positive, keeps plugins running between hosts as
	// per-user agents that exit after this long without calls (Linux
	// only; see agent_linux.go): later sbx invocations reattach instead of
	// starting the plugin again, which takes plugin start-up off the path
	// of every command. Zero starts a plugin per Host, owned by it.
	KeepAlive time.Duration
	// Getenv reads the environment; os.Getenv when nil.
	Getenv func(string) string
	// Environ is the environment agents are keyed by and started with
	// (see AgentEnv); os.Environ when nil. A program that runs commands
	// for callers with other environments (the sbx front-end agent) gives
	// each caller's here, and Getenv to match.
	Environ func() []string
}

// Host finds, starts and talks to backend plugins. It is safe for
// concurrent use. Close stops every plugin it started.
type Host struct {
	opts Options

	mu      sync.Mutex
	plugins map[string]*pluginProc // by binary path
	closed  bool
}

// live are the Hosts of this process that are not closed, and spared the
// children any of them started to outlive it (agents, KeepChild): a host
// that kills a crashed plugin's orphans (killOrphans) must spare every
// host's plugins and agents, not only its own, since they are all children
// of this one process.
var (
	liveMu sync.Mutex
	live   = map[*Host]bool{}
	spared = map[int]bool{}
)

// spare records a child that killOrphans must leave alone.
func spare(pid int) {
	liveMu.Lock()
	defer liveMu.Unlock()
	spared[pid] = true
}

// New returns a Host.
func New(o Options) *Host {
	h := &Host{opts: o, plugins: map[string]*pluginProc{}}
	if o.Subreaper {
		becomeSubreaper()
	}
	liveMu.Lock()
	live[h] = true
	liveMu.Unlock()
	return h
}

func (h *Host) getenv(k string) string {
	if h.opts.Getenv != nil {
		return h.opts.Getenv(k)
	}
	return os.Getenv(k)
}

func (h *Host) environ() []string {
	if h.opts.Environ != nil {
		return h.opts.Environ()
	}
	return os.Environ()
}

// KeepChild tells the host that pid is a child this program started on
// purpose and that must outlive it (the sbx front-end agent, say). A host
// that is a subreaper kills every other child after a plugin crash, since
// those are the plugin's orphans; it leaves pid alone.
func (h *Host) KeepChild(pid int) { spare(pid) }

// AgentEnv reports whether a plugin may depend on the environment variable
// k (agentenv.Var), which then must be the same for two hosts to share an
// agent. A program that keeps one Host for many callers must give a caller
// whose values of these differ a Host of its own.
func AgentEnv(k string) bool { return agentenv.Var(k) }

// DefaultBackend is the backend sbx uses when none is named: the one that is
// right for this OS.
func DefaultBackend() string {
	switch runtime.GOOS {
	case "linux", "darwin", "windows":
		return runtime.GOOS
	default:
		return "none"
	}
}

// Close stops every plugin this Host started.
func (h *Host) Close() error {
	h.mu.Lock()
	ps := h.plugins
	h.plugins = map[string]*pluginProc{}
	h.closed = true
	h.mu.Unlock()
	liveMu.Lock()
	delete(live, h)
	liveMu.Unlock()
	for _, p := range ps {
		p.stop()
	}
	return nil
}

// Listing is one backend found on this host.
type Listing struct {
	// Name is the backend (mode) name.
	Name string `json:"name"`
	// Plugin is the path of the plugin binary serving it.
	Plugin string `json:"plugin"`
	// Info describes the backend; valid when Err is nil.
	Info core.Info `json:"info"`
	// Err says why the plugin could not be asked.
	Err error `json:"-"`
}

// List starts every plugin found and returns every backend they serve,
// sorted by name. A plugin that fails to start is listed under its plugin
// name with Err set.
func (h *Host) List(ctx context.Context) []Listing {
	bins := h.allBinaries()
	var out []Listing
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range sortedKeys(bins) {
		path := bins[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got []Listing
			// Listing starts every plugin found; none of them is kept
			// as an agent, since most will not run a command now.
			p, err := h.start(ctx, path, false)
			if err != nil {
				got = append(got, Listing{Name: name, Plugin: path, Err: err})
			} else {
				for _, b := range p.hello.Backends {
					info, err := (&Backend{name: b, p: p, h: h}).Info(ctx)
					got = append(got, Listing{Name: b, Plugin: path, Info: info, Err: err})
				}
			}
			mu.Lock()
			out = append(out, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Open returns the backend called name, starting its plugin if needed. An
// unknown name gives an error matching core.ErrNotFound that lists the
// backends found.
func (h *Host) Open(ctx context.Context, name string) (*Backend, error) {
	if name == "" {
		return nil, fmt.Errorf("no backend named: %w", core.ErrNotFound)
	}
	var startErr error
	for _, c := range candidates(name) {
		path := h.findBinary(c)
		if path == "" {
			continue
		}
		p, err := h.start(ctx, path, true)
		if err != nil {
			// A plugin that refuses to start is an error worth showing
			// as is (bad checksum, wrong protocol), not "not found".
			if startErr == nil {
				startErr = err
			}
			continue
		}
		for _, b := range p.hello.Backends {
			if b == name {
				return &Backend{name: name, p: p, h: h}, nil
			}
		}
	}
	if startErr != nil {
		return nil, startErr
	}
	var known []string
	for _, l := range h.List(ctx) {
		if l.Err == nil {
			known = append(known, l.Name)
		}
	}
	hint := "no backend plugins were found next to sbx or in $" + EnvPluginPath
	if len(known) > 0 {
		hint = "known backends: " + strings.Join(known, ", ")
	}
	return nil, fmt.Errorf("unknown backend %q (%s): %w", name, hint, core.ErrNotFound)
}

// Run is what `sbx run` does: open the backend and run req with it. The
// backend plans, refuses (with *core.NotEnforcedError) a policy it cannot
// hold at the strength req.Accept allows, prints the accepted downgrades to
// req.Diagnostics, and runs the command.
func (h *Host) Run(ctx context.Context, backend string, req *core.RunRequest) (*core.RunResult, error) {
	b, err := h.Open(ctx, backend)
	if err != nil {
		return nil, err
	}
	return b.Run(ctx, req)
}

// pluginProc is one running plugin process.
type pluginProc struct {
	path   string
	client *plugin.Client
	cmd    *exec.Cmd // nil for an agent
	rpc    *wire.Client
	hello  *pb.HelloResponse
	fdSock *os.File // host end of the descriptor channel; nil without one
	fdAddr string   // an agent's descriptor socket
	fdConn *os.File // the connection to fdAddr kept for all runs (sendMu)
	agent  bool     // a long-lived agent this host does not own
	pid    int      // an agent's process
	ident  binaryIdent
	sendMu sync.Mutex
}

func (p *pluginProc) hasFeature(f string) bool {
	for _, x := range p.hello.Features {
		if x == f {
			return true
		}
	}
	return false
}

// exited reports whether the plugin process is gone.
func (p *pluginProc) exited() bool { return p.client.Exited() }

// waitExited waits up to d for the plugin process to be reaped. The
// connection breaks while a dying process closes its files, before the
// kernel reparents its children: only after it is reaped can they be found
// and killed.
func (p *pluginProc) waitExited(d time.Duration) {
	deadline := time.Now().Add(d)
	for !p.exited() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// stop kills the plugin. Plugins hold no state worth a graceful shutdown
// once their runs are over, and waiting for one would put it on every
// command's path.
//
// An agent is not stopped: the host only hangs up (go-plugin's Kill would
// ask it to shut down).
func (p *pluginProc) stop() {
	if p.agent {
		p.rpc.Conn.Close()
		p.sendMu.Lock()
		if p.fdConn != nil {
			p.fdConn.Close()
			p.fdConn = nil
		}
		p.sendMu.Unlock()
		return
	}
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	p.client.Kill()
	if p.fdSock != nil {
		p.fdSock.Close()
	}
}

// start returns the running plugin at path, starting it if needed, as an
// agent when allowed and configured.
func (h *Host) start(ctx context.Context, path string, allowAgent bool) (*pluginProc, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("sbx host is closed")
	}
	if p, ok := h.plugins[path]; ok {
		if !p.exited() && p.ident == identify(path) && (!p.agent || agentAlive(p.pid)) {
			return p, nil
		}
		// Gone, or the binary was replaced since: a long-lived Host
		// (the sbx front-end agent) must not keep talking to an old
		// plugin.
		delete(h.plugins, path)
		p.stop()
	}
	var p *pluginProc
	var err error
	if allowAgent && h.opts.KeepAlive > 0 && agentSupported && h.opts.Stdio != StdioStream {
		p, err = h.startAgent(ctx, path)
		if err != nil && (errors.Is(err, core.ErrPermission) || errors.Is(err, core.ErrProtocol)) {
			return nil, err // a refused plugin stays refused
		}
	}
	if p == nil {
		if p, err = h.launch(ctx, path); err != nil {
			return nil, err
		}
	}
	p.ident = identify(path)
	h.plugins[path] = p
	return p, nil
}

// sendToAgent sends a batch of descriptors over the connection this host
// keeps to the agent's descriptor socket, connecting (and checking that the
// agent process serves it) on first use. A connection that broke (the agent
// restarted its listener, say) is replaced once: a batch that failed to send
// reached nobody.
func (p *pluginProc) sendToAgent(ticket string, files []*os.File) error {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	for attempt := 0; ; attempt++ {
		if p.fdConn == nil {
			pid := p.client.ReattachConfig().Pid
			c, err := fdpass.Dial(p.fdAddr, func(c *net.UnixConn) error { return peercred.CheckServer(c, pid) })
			if err != nil {
				return err
			}
			p.fdConn = c
		}
		err := fdpass.Send(p.fdConn, ticket, files)
		if err == nil || attempt > 0 {
			return err
		}
		p.fdConn.Close()
		p.fdConn = nil
	}
}

// dialOptions tune the host's side of the gRPC connection to a plugin on
// the same machine, as the SDK tunes the plugin's (sdk transportOptions):
// fixed flow-control windows turn off gRPC's bandwidth estimator, which
// answers every message received with a PING that the plugin must
// acknowledge, waking both processes once more per message.
func dialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithInitialWindowSize(1 << 20),
		grpc.WithInitialConnWindowSize(1 << 20),
	}
}

// binaryIdent identifies the contents of a plugin binary cheaply: its size
// and modification time (what agentKey hashes).
type binaryIdent struct {
	size int64
	mod  int64 // UnixNano
}

// identify returns path's binaryIdent; the zero value when it cannot be
// read, which never matches a started plugin's.
func identify(path string) binaryIdent {
	fi, err := os.Stat(path)
	if err != nil {
		return binaryIdent{size: -1}
	}
	return binaryIdent{size: fi.Size(), mod: fi.ModTime().UnixNano()}
}

func (h *Host) launch(ctx context.Context, path string) (*pluginProc, error) {
	base := binaryBase(path)
	cmd := exec.Command(path)
	setPluginProcAttr(cmd)

	var hostSock *os.File
	if fdpass.Supported && h.opts.Stdio != StdioStream {
		hs, ps, err := fdpass.Pair()
		if err != nil {
			return nil, err
		}
		defer ps.Close() // the child has its copy once started
		hostSock = hs
		cmd.ExtraFiles = []*os.File{ps}
		cmd.Env = append(cmd.Env, plugins.EnvFDChannel+"=3")
	}

	logOut := h.opts.Stderr
	if logOut == nil {
		logOut = io.Discard
	}
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake,
		VersionedPlugins: wire.PluginSets(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         runtime.GOOS == "windows", // go-plugin uses loopback TCP there
		StartTimeout:     30 * time.Second,
		GRPCDialOptions:  dialOptions(),
		SyncStdout:       logOut,
		SyncStderr:       logOut,
		Stderr:           logOut,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:   "sbx-host",
			Level:  hclog.Error,
			Output: logOut,
		}),
	}
	if want, ok := h.pin(base); ok {
		sum, err := hex.DecodeString(want)
		if err != nil || len(sum) != sha256.Size {
			if hostSock != nil {
				hostSock.Close()
			}
			return nil, fmt.Errorf("plugin checksum for %s is not a SHA-256 hex string (%q): fix plugin_checksums in your config: %w", base, want, core.ErrInvalidPolicy)
		}
		cfg.SecureConfig = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}

	p, err := h.connect(ctx, path, plugin.NewClient(cfg))
	if err != nil {
		if hostSock != nil {
			hostSock.Close()
		}
		return nil, err
	}
	p.cmd, p.fdSock = cmd, hostSock
	return p, nil
}

// connect completes a go-plugin client (started or reattached): dispense
// the backend service and say hello.
func (h *Host) connect(ctx context.Context, path string, client *plugin.Client) (*pluginProc, error) {
	base := binaryBase(path)
	fail := func(err error) (*pluginProc, error) {
		client.Kill()
		return nil, err
	}
	rpcClient, err := client.Client()
	if err != nil {
		return fail(startError(path, base, err, h.pinned(base)))
	}
	raw, err := rpcClient.Dispense(plugins.PluginKey)
	if err != nil {
		return fail(fmt.Errorf("plugin %s: %v: %w", path, err, core.ErrProtocol))
	}
	rpc, ok := raw.(*wire.Client)
	if !ok {
		return fail(fmt.Errorf("plugin %s dispensed %T: %w", path, raw, core.ErrProtocol))
	}
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hello, err := rpc.Hello(hctx, &pb.HelloRequest{ApiVersion: plugins.APIVersion})
	if err != nil {
		return fail(fmt.Errorf("plugin %s: %w", path, wire.FromStatus(err)))
	}
	if major(hello.ApiVersion) != major(plugins.APIVersion) {
		return fail(fmt.Errorf("plugin %s speaks backend API %s, sbx speaks %s: install matching versions: %w",
			path, hello.ApiVersion, plugins.APIVersion, core.ErrProtocol))
	}
	return &pluginProc{path: path, client: client, rpc: rpc, hello: hello}, nil
}

func (h *Host) pin(base string) (string, bool) {
	v, ok := h.opts.Pins[base]
	if !ok {
		v, ok = h.opts.Pins[strings.TrimSuffix(base, ".exe")]
	}
	return strings.ToLower(strings.TrimSpace(v)), ok
}

func (h *Host) pinned(base string) bool { _, ok := h.pin(base); return ok }

// startError explains why a plugin did not start.
func startError(path, base string, err error, pinned bool) error {
	msg := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch) || (pinned && strings.Contains(msg, "checksum")):
		return fmt.Errorf("plugin %s does not match its pinned SHA-256 checksum: refusing to run it; "+
			"if you upgraded it on purpose, update plugin_checksums.%q in your config (sha256sum %s): %w",
			path, strings.TrimSuffix(base, ".exe"), path, core.ErrPermission)
	case strings.Contains(msg, "incompatible api version") || strings.Contains(msg, "protocol version"):
		return fmt.Errorf("plugin %s speaks another plugin protocol version than this sbx (%d): "+
			"install a plugin built for this sbx version: %v: %w", path, plugins.ProtocolVersion, err, core.ErrProtocol)
	}
	return fmt.Errorf("plugin %s failed to start: %v: %w", path, err, core.ErrBackendExited)
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}

func binaryBase(path string) string {
	i := strings.LastIndexAny(path, `/\`)
	return path[i+1:]
}

// keptChildren are the children of this process that killOrphans spares:
// the running plugins of every live Host, and the spared ones.
func keptChildren() map[int]bool {
	liveMu.Lock()
	keep := map[int]bool{}
	for pid := range spared {
		keep[pid] = true
	}
	hosts := make([]*Host, 0, len(live))
	for h := range live {
		hosts = append(hosts, h)
	}
	liveMu.Unlock()
	for _, h := range hosts {
		h.mu.Lock()
		for _, p := range h.plugins {
			if p.cmd != nil && p.cmd.Process != nil && !p.exited() {
				keep[p.cmd.Process.Pid] = true
			}
		}
		h.mu.Unlock()
	}
	return keep
}
