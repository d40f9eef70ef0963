package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sbxdev/sbx/core"
)

// fakeBackend is a core.Backend that records what it was asked. Its report
// holds every element Enforced except the boundaries listed in weak.
type fakeBackend struct {
	name string
	// weak lowers the strength of a boundary's restricting elements.
	weak map[core.Boundary]core.Strength
	// noTTY makes Info say the backend cannot give a terminal.
	noTTY bool
	// os is the OS Info reports ("any" when empty).
	os string
	// run decides the result; nil means exit 0.
	run func(ctx context.Context, req *core.RunRequest) (*core.RunResult, error)

	mu     sync.Mutex
	gotReq *core.RunRequest
	plans  []core.Policy
}

func (b *fakeBackend) Info(ctx context.Context) (core.Info, error) {
	goos := b.os
	if goos == "" {
		goos = "any"
	}
	return core.Info{Name: b.name, Description: "fake " + b.name, OS: goos, Available: true,
		Capabilities: core.Capabilities{Write: core.Enforced, Protected: core.Enforced, Read: core.Absent,
			Network: core.Enforced, Limits: core.Absent, ProcessTree: core.Enforced, TTY: !b.noTTY},
		Facts: map[string]string{"kind": "fake"}}, nil
}

func (b *fakeBackend) Plan(ctx context.Context, p core.Policy) (*core.Plan, error) {
	b.mu.Lock()
	b.plans = append(b.plans, p)
	b.mu.Unlock()
	els := core.Requested(p, []string{"/tmp"})
	for i := range els {
		els[i].Strength = core.Enforced
		els[i].Mechanism = "fake"
		if s, ok := b.weak[els[i].Boundary]; ok && !els[i].Unrestricted() {
			els[i].Strength = s
			els[i].Note = "the fake cannot"
		}
	}
	return &core.Plan{Backend: b.name, Report: core.Report{Backend: b.name, Elements: els},
		Steps: []core.Step{{Layer: "fake", Action: "allow write", Target: p.Workspace}}}, nil
}

func (b *fakeBackend) Run(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
	b.mu.Lock()
	b.gotReq = req
	b.mu.Unlock()
	plan, _ := b.Plan(ctx, req.Policy)
	if err := plan.Report.Check(req.Accept); err != nil {
		return nil, err
	}
	for _, e := range plan.Report.Downgrades() {
		if req.Diagnostics != nil {
			fmt.Fprintf(req.Diagnostics, "sbx: downgrade: %s\n", e.Summary())
		}
	}
	if b.run == nil {
		return &core.RunResult{Report: plan.Report}, nil
	}
	res, err := b.run(ctx, req)
	if res != nil {
		res.Report = plan.Report
	}
	return res, err
}

func (b *fakeBackend) request() *core.RunRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gotReq
}

// setupBackend is a fakeBackend with a one-time setup.
type setupBackend struct {
	*fakeBackend
	done  bool
	calls []core.SetupRequest
}

func (b *setupBackend) Setup(ctx context.Context, req core.SetupRequest, progress io.Writer) error {
	b.calls = append(b.calls, req)
	fmt.Fprintln(progress, "creating the offline user")
	b.done = !req.Undo
	return nil
}

func (b *setupBackend) SetupStatus(ctx context.Context) (core.SetupStatus, error) {
	return core.SetupStatus{Done: b.done, Version: 1, Want: 1,
		Items: []core.SetupItem{{Name: "offline user", Present: b.done}}}, nil
}

// fakeSet is a backendSet over fake backends.
type fakeSet struct {
	backends map[string]core.Backend
	opts     pluginOptions
	closed   bool
}

func (s *fakeSet) Open(ctx context.Context, name string) (core.Backend, error) {
	if b, ok := s.backends[name]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%w: unknown backend %q; known backends: %s", core.ErrNotFound, name, strings.Join(s.names(), ", "))
}

func (s *fakeSet) names() []string {
	var out []string
	for n := range s.backends {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *fakeSet) List(ctx context.Context) []listing {
	var out []listing
	for _, n := range s.names() {
		info, _ := s.backends[n].Info(ctx)
		out = append(out, listing{Name: n, Plugin: "/plugins/sbx-backend-" + n, Info: info})
	}
	out = append(out, listing{Name: "broken", Plugin: "/plugins/sbx-backend-broken", Err: fmt.Errorf("plugin speaks protocol 9")})
	return out
}

func (s *fakeSet) Close() error { s.closed = true; return nil }

// fakeTerminal is a terminal whose raw mode is recorded.
type fakeTerminal struct {
	mu       sync.Mutex
	size     core.WindowSize
	raw      bool
	restored int
}

func (t *fakeTerminal) IsTerminal() bool { return true }
func (t *fakeTerminal) Size() (core.WindowSize, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.size, nil
}

func (t *fakeTerminal) resize(s core.WindowSize) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.size = s
}
func (t *fakeTerminal) MakeRaw() (func() error, error) {
	t.raw = true
	return func() error { t.raw = false; t.restored++; return nil }, nil
}

// harness runs the sbx command tree in-process over temporary directories:
// cwd is the workspace, home holds the user file.
type harness struct {
	t              testing.TB
	cwd, home      string
	vars           map[string]string
	stdin          io.Reader
	stdout, stderr bytes.Buffer
	set            *fakeSet
	fake           *fakeBackend
	term           terminal
	notified       chan notification
}

// notification is one call of the environment's Notify.
type notification struct {
	c    chan<- os.Signal
	sigs []os.Signal
}

// notifiedFor returns the channel sbx registered for sig.
func (h *harness) notifiedFor(sig os.Signal) chan<- os.Signal {
	for {
		n := <-h.notified
		for _, s := range n.sigs {
			if s == sig {
				return n.c
			}
		}
	}
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	home := t.TempDir()
	h := &harness{
		t:    t,
		cwd:  t.TempDir(),
		home: home,
		vars: map[string]string{
			"HOME":            home,
			"XDG_CONFIG_HOME": filepath.Join(home, ".config"),
			"AppData":         filepath.Join(home, "AppData"),
			"PATH":            "/usr/bin:/bin",
		},
		stdin:    strings.NewReader(""),
		notified: make(chan notification, 16),
	}
	h.fake = &fakeBackend{name: "fake"}
	h.set = &fakeSet{backends: map[string]core.Backend{
		"fake":  h.fake,
		"other": &fakeBackend{name: "other"},
	}}
	return h
}

func (h *harness) environment() *environment {
	e := &environment{
		Stdin:  h.stdin,
		Stdout: &h.stdout,
		Stderr: &h.stderr,
		LookupEnv: func(k string) (string, bool) {
			v, ok := h.vars[k]
			return v, ok
		},
		Environ: func() []string {
			var out []string
			for k, v := range h.vars {
				out = append(out, k+"="+v)
			}
			sort.Strings(out)
			return out
		},
		Getwd: func() (string, error) { return h.cwd, nil },
		Backends: func(o pluginOptions) (backendSet, error) {
			h.set.opts = o
			return h.set, nil
		},
		DefaultBackend: "fake",
		Terminal:       h.term,
		Notify: func(c chan<- os.Signal, sig ...os.Signal) {
			h.notified <- notification{c: c, sigs: sig}
		},
		StopNotify: func(c chan<- os.Signal) {},
	}
	return e
}

// run runs sbx with args and returns its exit status.
func (h *harness) run(args ...string) int {
	h.t.Helper()
	h.stdout.Reset()
	h.stderr.Reset()
	h.exportEnv()
	return execute(h.environment(), args)
}

// userFile returns the path of the user configuration file.
func (h *harness) userFile() string {
	a := &app{env: h.environment()}
	p, _ := a.userConfigPath(h.home)
	return p
}

func (h *harness) writeUser(content string) string {
	h.t.Helper()
	return writeFile(h.t, h.userFile(), content)
}

func (h *harness) writeProject(content string) string {
	h.t.Helper()
	return writeFile(h.t, filepath.Join(h.cwd, ".sbx.toml"), content)
}

func writeFile(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// config runs `sbx config --json` with args and decodes it; it fails the
// test unless sbx exits 0.
func (h *harness) config(args ...string) configJSON {
	h.t.Helper()
	if code := h.run(append([]string{"config", "--json"}, args...)...); code != 0 {
		h.t.Fatalf("sbx config %v: exit %d\nstderr: %s", args, code, h.stderr.String())
	}
	var c configJSON
	if err := json.Unmarshal(h.stdout.Bytes(), &c); err != nil {
		h.t.Fatalf("decoding config --json: %v\n%s", err, h.stdout.String())
	}
	return c
}

// origin returns the origin of the row of key with value (any value when
// value is "").
func (c configJSON) origin(key, value string) string {
	for _, s := range c.Settings {
		if s.Key == key && (value == "" || s.Value == value) {
			return s.Origin
		}
	}
	return "(no such row)"
}

// mustFail runs sbx, requires exit status code and that stderr contains
// every want string.
func (h *harness) mustFail(code int, args []string, want ...string) {
	h.t.Helper()
	got := h.run(args...)
	if got != code {
		h.t.Fatalf("sbx %v: exit %d, want %d\nstderr: %s", args, got, code, h.stderr.String())
	}
	for _, w := range want {
		if !strings.Contains(h.stderr.String(), w) {
			h.t.Errorf("sbx %v: stderr does not contain %q:\n%s", args, w, h.stderr.String())
		}
	}
}
