package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/cmd/sbx/internal/front"
	"github.com/sbxdev/sbx/cmd/sbx/internal/frontagent"
	"github.com/sbxdev/sbx/plugins/host"
)

// The front-end agent is a resident copy of this CLI that runs `sbx run`
// for the lean front end (cmd/sbx/front, see package front). It runs the
// same command tree as the CLI does, in process, against each client's
// environment (arguments, variables, current directory, streams, terminal,
// forwarded signals), and keeps its plugin hosts (one per plugin
// configuration: plugin_dirs, plugin_checksums, keep-alive), so that the
// plugin connections outlive a command. The front end names agents by the
// environment plugin agents are keyed by, so one agent sees one such
// environment.
//
// What it declines (the front end then runs the full CLI itself, as if no
// agent were there):
//   - every command but `sbx run`, which is the one on the hot path; the
//     others are cheap enough cold;
//   - plugin_keepalive = "0" (the user asked for nothing resident) and
//     --debug (plugin logs go to the command's own stderr);
//   - clients that fail host.CheckPeer (another user, another pid
//     namespace, or a sandboxed process: a command inside a sandbox must
//     never run something outside it).

// frontAgent is the state of a serving agent.
type frontAgent struct {
	// ctx ends every run in flight when the agent is told to stop.
	ctx    context.Context
	log    io.Writer
	socket string
	// openSet replaces backends (the plugin host) in tests.
	openSet func(o pluginOptions, environ []string) (backendSet, error)

	mu     sync.Mutex
	active int
	last   time.Time
	// set is the plugin host, created by the first request that needs
	// one; key is its plugin configuration and agent environment.
	// sets are the plugin hosts, one per plugin configuration and agent
	// environment (see backends), created by the first request that
	// needs each.
	sets map[string]backendSet
}

// serveFrontAgent listens on socket until no command has run for idle.
// A second agent for the same socket exits at once.
func serveFrontAgent(socket string, idle time.Duration, log io.Writer) error {
	if err := frontagent.PrivateDir(filepath.Dir(socket)); err != nil {
		return err
	}
	lock, err := os.OpenFile(socket+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil // another agent serves this socket
		}
		return err
	}
	l, err := frontagent.Listen(socket)
	if err != nil {
		return err
	}
	l.Check = func(c *net.UnixConn) error {
		err := host.CheckPeer(c)
		if err != nil {
			fmt.Fprintf(log, "sbx front-agent: refused a client: %v\n", err)
		}
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	d := &frontAgent{ctx: ctx, log: log, socket: socket, last: time.Now()}
	// Its record, for `sbx agents`; gone with it.
	if err := writeFrontState(socket); err != nil {
		fmt.Fprintf(log, "sbx front-agent: %v\n", err)
	}
	defer os.Remove(socket + frontStateSuffix)
	// SIGTERM or SIGHUP (`sbx agents --stop`, a logout): stop accepting,
	// cancel the runs in flight (their process trees are killed), leave.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(term)
	go func() {
		select {
		case <-term:
			stop()
			l.Close()
		case <-ctx.Done():
		}
	}()
	go d.expire(l, idle)
	var wg sync.WaitGroup
	for {
		c, err := l.Accept()
		if err != nil {
			break // closed by expire
		}
		d.begin()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.end()
			d.serve(c)
		}()
	}
	wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, set := range d.sets {
		set.Close()
	}
	return nil
}

func (d *frontAgent) begin() {
	d.mu.Lock()
	d.active++
	d.mu.Unlock()
}

func (d *frontAgent) end() {
	d.mu.Lock()
	d.active--
	d.last = time.Now()
	d.mu.Unlock()
}

// expire closes l once nothing has run for idle. The plugin agents this
// agent talks to idle out after the same keep-alive counted from their last
// call, which is a little earlier than this agent's last activity; so this
// agent leaves a tenth earlier, and never holds a connection to a plugin
// agent that has just left.
func (d *frontAgent) expire(l *frontagent.Listener, idle time.Duration) {
	idle -= idle / 10
	for {
		d.mu.Lock()
		wait := idle - time.Since(d.last)
		done := d.active == 0 && wait <= 0
		d.mu.Unlock()
		if done {
			l.Close()
			return
		}
		if wait <= 0 {
			wait = idle / 4
		}
		time.Sleep(wait)
	}
}

// serve answers one front end.
func (d *frontAgent) serve(c *frontagent.Conn) {
	defer c.Close()
	req, files, err := c.Request()
	if err != nil {
		fmt.Fprintf(d.log, "sbx front-agent: %v\n", err)
		return
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if err := req.Validate(); err != nil {
		c.Fallback(err.Error())
		return
	}
	parent := d.ctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	sig := newSignalRelay(cancel)
	go sig.pump(c.Signals())
	// A bug that panics while serving one command must not take down
	// the agent and every other command it serves: that command fails
	// (as the CLI would have), the others go on.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(d.log, "sbx front-agent: panic serving %q: %v\n%s", req.Args, r, debug.Stack())
			fmt.Fprintf(files[2], "sbx: internal error in the front-end agent: %v (details in %s.log); run again with SBX_FRONT=0 to bypass it\n", r, d.socket)
			c.Exit(exitSbxError)
		}
	}()
	code := execute(d.environment(ctx, req, files, sig), req.Args)
	if code == codeFallback {
		c.Fallback("declined")
		return
	}
	c.Exit(code)
}

// environment is the client's environment, as main builds the process's.
func (d *frontAgent) environment(ctx context.Context, req front.Request, files [3]*os.File, sig *signalRelay) *environment {
	lookup := func(k string) (string, bool) { return front.Lookup(req.Env, k) }
	e := &environment{
		Context:        ctx,
		Umask:          req.Umask,
		RunOnly:        true,
		Stdin:          files[0],
		Stdout:         files[1],
		Stderr:         files[2],
		LookupEnv:      lookup,
		Environ:        func() []string { return slices.Clone(req.Env) },
		Getwd:          func() (string, error) { return req.Dir, nil },
		DefaultBackend: hostDefaultBackend(),
		Notify:         sig.notify,
		StopNotify:     sig.stop,
	}
	e.Backends = func(o pluginOptions) (backendSet, error) {
		if d.openSet != nil {
			return d.openSet(o, req.Env)
		}
		return d.backends(o, req.Env)
	}
	if t := newFileTerminal(files[0], files[1]); t.IsTerminal() {
		e.Terminal = t
	}
	return e
}

// backends returns the agent's plugin host, creating it on first use.
func (d *frontAgent) backends(o pluginOptions, environ []string) (backendSet, error) {
	if o.KeepAlive <= 0 || o.Stderr != io.Discard {
		return nil, errFallback
	}
	pins := make([]string, 0, len(o.Pins))
	for k, v := range o.Pins {
		pins = append(pins, k+"="+v)
	}
	slices.Sort(pins)
	key := fmt.Sprintf("%q %q %s %q", o.Dirs, pins, o.KeepAlive, front.EnvKey(environ))
	d.mu.Lock()
	defer d.mu.Unlock()
	set, ok := d.sets[key]
	if !ok {
		// The host reads SBX_PLUGIN_PATH and XDG_RUNTIME_DIR from this
		// request's environment and keys plugin agents by it; requests
		// with the same key have the same values of those.
		hostEnv := slices.Clone(environ)
		getenv := func(k string) string {
			v, _ := front.Lookup(hostEnv, k)
			return v
		}
		set = &hostSet{h: host.New(host.Options{
			Dirs:      o.Dirs,
			Pins:      o.Pins,
			Subreaper: true,
			KeepAlive: o.KeepAlive,
			Getenv:    getenv,
			Environ:   func() []string { return hostEnv },
		})}
		if d.sets == nil {
			d.sets = map[string]backendSet{}
		}
		d.sets[key] = set
	}
	return sharedSet{set}, nil
}

// sharedSet is the agent's host lent to one command: closing it keeps the
// plugin connections for the next.
type sharedSet struct{ backendSet }

func (sharedSet) Close() error { return nil }

// signalRelay delivers the signals a front end forwards to the channels the
// command tree registered (environment.Notify), as os/signal would.
type signalRelay struct {
	mu     sync.Mutex
	subs   map[chan<- os.Signal][]os.Signal
	cancel context.CancelFunc
}

func newSignalRelay(cancel context.CancelFunc) *signalRelay {
	return &signalRelay{subs: map[chan<- os.Signal][]os.Signal{}, cancel: cancel}
}

func (r *signalRelay) notify(c chan<- os.Signal, sig ...os.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs[c] = append(r.subs[c], sig...)
}

func (r *signalRelay) stop(c chan<- os.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.subs, c)
}

// pump relays in until the front end hangs up, which cancels the command
// (the front end died, so its command must too). A signal nobody asked for
// does what it would have done to the CLI: a resize is ignored, the others
// end it.
func (r *signalRelay) pump(in <-chan syscall.Signal) {
	defer r.cancel()
	for s := range in {
		delivered := false
		r.mu.Lock()
		for c, sigs := range r.subs {
			if slices.Contains(sigs, os.Signal(s)) {
				delivered = true
				select {
				case c <- s:
				default:
				}
			}
		}
		r.mu.Unlock()
		if !delivered && s != unix.SIGWINCH {
			r.cancel()
		}
	}
}

// startFrontAgent starts the front-end agent for socket, detached (its own
// session, standard streams on /dev/null, log next to the socket), and
// returns its pid.
func startFrontAgent(socket string, idle time.Duration) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	if err := frontagent.PrivateDir(filepath.Dir(socket)); err != nil {
		return 0, err
	}
	logf, err := os.OpenFile(socket+".log", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, "front-agent", "--socket", socket, "--idle", idle.String())
	cmd.Dir = "/"
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go cmd.Wait() // reaped if it exits while this sbx still runs
	return cmd.Process.Pid, nil
}

// frontStateSuffix names a front-end agent's record, beside its socket:
// not ".json", which plugin agents' records use in the same directory.
const frontStateSuffix = ".state"

// frontState is a front-end agent's record.
type frontState struct {
	Pid    int    `json:"pid"`
	Binary string `json:"binary"`
	Socket string `json:"socket"`
}

// writeFrontState records this agent next to socket.
func writeFrontState(socket string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	b, err := json.Marshal(frontState{Pid: os.Getpid(), Binary: exe, Socket: socket})
	if err != nil {
		return err
	}
	tmp := socket + frontStateSuffix + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, socket+frontStateSuffix)
}

// frontAgents lists the front-end agents recorded in the agent directory.
func frontAgents(dir string) []host.AgentInfo {
	return host.AgentRecords(filepath.Join(dir, "front-*.sock"+frontStateSuffix))
}

// localAgents lists this user's agents, front-end and plugin, in the agent
// directory of the environment getenv reads.
func localAgents(getenv func(string) string) ([]agentRow, error) {
	var rows []agentRow
	for _, a := range frontAgents(front.Dir(getenv)) {
		rows = append(rows, agentRow{Kind: "front-end", AgentInfo: a})
	}
	plugins, err := host.Agents(getenv)
	for _, a := range plugins {
		rows = append(rows, agentRow{Kind: "plugin", AgentInfo: a})
	}
	return rows, err
}
