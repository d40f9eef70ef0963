package probe

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sbxdev/sbx/core"
)

// Env is a prepared probing environment: a scratch workspace (with an
// existing protected directory and a symbolic link pointing out), a
// directory outside every writable root holding a file with the nonce,
// the loopback servers, and a process to signal. One Env serves every
// backend of a comparison, so they all face the same probes. Close
// removes it all.
type Env struct {
	// Policy is the policy the probes run under: the caller's, with the
	// scratch workspace as its workspace (and, for restricted reads, the
	// probe program's directory readable).
	Policy core.Policy
	// Config is what the probe program is told (before per-backend
	// adjustments; see Run).
	Config Config
	// ProbePath is the sbx-probe program.
	ProbePath string

	base    string
	closers []io.Closer
	sleeper *exec.Cmd
}

// WorkspaceSubdir is the existing directory of the scratch workspace the
// write-workspace probe writes in. A subdirectory, not the workspace
// itself: a backend may keep the workspace's own entries fixed so that
// missing protected names cannot be created there (linux-namespaces does,
// and says so in its report), while everything inside existing entries
// is writable.
const WorkspaceSubdir = "src"

// Prepare builds an Env for policy p (which must be valid apart from its
// workspace, which is replaced) and the probe program at probePath.
func Prepare(p core.Policy, probePath string) (_ *Env, err error) {
	if probePath == "" {
		return nil, fmt.Errorf("no sbx-probe program: build it with `go build ./cmd/sbx-probe` and put it next to sbx: %w", core.ErrNotFound)
	}
	if abs, err := filepath.Abs(probePath); err == nil {
		probePath = abs
	}
	if _, err := os.Stat(probePath); err != nil {
		return nil, fmt.Errorf("the probe program %s cannot be used: %v: install sbx-probe next to sbx: %w", probePath, err, core.ErrNotFound)
	}
	e := &Env{ProbePath: probePath}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	e.Config.Nonce = nonce()

	base, outsideOK := chooseBase(p)
	e.base = base
	ws := filepath.Join(base, "workspace")
	if err := os.Mkdir(ws, 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(ws, WorkspaceSubdir), 0o755); err != nil {
		return nil, err
	}
	// A copy of the probe program in the scratch directory, so that it is
	// visible inside every sandbox whatever the policy hides (a private
	// /tmp, restricted reads), where that directory allows executing.
	if cp, err := copyProgram(probePath, filepath.Join(base, "bin")); err == nil {
		e.ProbePath = cp
	}
	pol := p.Clone()
	pol.Workspace = ws
	if pol.Read.Mode == core.ReadRestricted {
		pol.Read.Paths = append(pol.Read.Paths, filepath.Dir(e.ProbePath))
	}
	e.Policy = pol
	c := &e.Config
	c.Workspace = ws

	// Protected names: an existing one (.git when protected), and a
	// missing one to create.
	existing, missing := protectedNames(pol.Protected)
	if existing != "" && !pol.ReadOnly {
		c.ProtectedExisting = filepath.Join(ws, existing)
		if err := os.Mkdir(c.ProtectedExisting, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(c.ProtectedExisting, "config"), []byte("[core]\n"), 0o644); err != nil {
			return nil, err
		}
	}
	if missing != "" && !pol.ReadOnly {
		c.ProtectedMissing = filepath.Join(ws, missing)
	}

	if outsideOK {
		out := filepath.Join(base, "outside")
		if err := os.Mkdir(out, 0o755); err != nil {
			return nil, err
		}
		c.Outside = out
		c.OutsideFile = filepath.Join(out, "outside.txt")
		if err := os.WriteFile(c.OutsideFile, []byte("sbx-probe outside file "+c.Nonce+"\n"), 0o644); err != nil {
			return nil, err
		}
		link := filepath.Join(ws, "link-out")
		if err := os.Symlink(out, link); err == nil {
			c.SymlinkOut = link
		}
		c.SameDevice = sameDevice(ws, out)
	}

	// Loopback servers; an address family the host lacks leaves its
	// probes skipped.
	start := func(dst *string, listen func(string) (string, io.Closer, error), addr string) {
		a, cl, err := listen(addr)
		if err != nil {
			return
		}
		*dst = a
		e.closers = append(e.closers, cl)
	}
	start(&c.TCP4, listenTCPEcho, "127.0.0.1:0")
	start(&c.TCP6, listenTCPEcho, "[::1]:0")
	start(&c.UDP4, listenUDPEcho, "127.0.0.1:0")
	start(&c.UDP6, listenUDPEcho, "[::1]:0")
	start(&c.HTTP, listenHTTP, "127.0.0.1:0")
	start(&c.DNS, listenDNS, "127.0.0.1:0")

	if path, cl, err := openTerminal(); err == nil {
		c.Terminal = path
		e.closers = append(e.closers, cl)
	}
	if runtime.GOOS != "windows" {
		e.sleeper = exec.Command(e.ProbePath, ArgSleep)
		if err := e.sleeper.Start(); err == nil {
			c.SignalPid = e.sleeper.Process.Pid
		} else {
			e.sleeper = nil
		}
	}
	return e, nil
}

// Close stops the servers and the process to signal and removes the
// scratch directories.
func (e *Env) Close() {
	for _, cl := range e.closers {
		_ = cl.Close()
	}
	e.closers = nil
	if e.sleeper != nil {
		_ = e.sleeper.Process.Kill()
		_ = e.sleeper.Wait()
		e.sleeper = nil
	}
	if e.base != "" {
		_ = os.RemoveAll(e.base)
		e.base = ""
	}
}

// copyProgram copies the program at src into dir and checks that the copy
// runs (dir may be on a noexec mount).
func copyProgram(src, dir string) (string, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(src))
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if err := exec.Command(dst, ArgNoop).Run(); err != nil {
		return "", err
	}
	return dst, nil
}

// protectedNames picks the protected name to create before the run (.git
// when protected, else the first) and one to leave missing.
func protectedNames(names []string) (existing, missing string) {
	for _, n := range names {
		if n == ".git" {
			existing = n
		}
	}
	if existing == "" && len(names) > 0 {
		existing = names[0]
	}
	for _, n := range names {
		if n != existing && !strings.ContainsAny(n, `/\`) {
			return existing, n
		}
	}
	return existing, ""
}

// chooseBase makes the scratch base directory. It prefers a place outside
// every writable root and temporary directory of p (the user's cache
// directory, /var/tmp), so that an "outside" directory next to the
// workspace really is outside; outsideOK is false when there is none.
func chooseBase(p core.Policy) (base string, outsideOK bool) {
	var candidates []string
	if d, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(d, "sbx"))
	}
	if runtime.GOOS != "windows" {
		candidates = append(candidates, "/var/tmp")
	}
	writable := writableSet(p)
	for _, dir := range candidates {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			continue
		}
		real, err := filepath.EvalSymlinks(dir)
		if err != nil || under(real, writable) {
			continue
		}
		b, err := os.MkdirTemp(real, "probe-")
		if err != nil {
			continue
		}
		return b, true
	}
	b, err := os.MkdirTemp("", "sbx-probe-")
	if err != nil {
		b = filepath.Join(os.TempDir(), "sbx-probe-"+nonce())
		_ = os.MkdirAll(b, 0o755)
	}
	if real, err := filepath.EvalSymlinks(b); err == nil {
		b = real
	}
	return b, false
}

// writableSet lists the directories p lets the command write, with the
// temporary directories when p makes them writable, symbolic links
// resolved.
func writableSet(p core.Policy) []string {
	dirs := p.WritePaths()
	if p.WritableTmp {
		dirs = append(dirs, os.TempDir(), os.Getenv("TMPDIR"), os.Getenv("TEMP"), os.Getenv("TMP"))
		if runtime.GOOS != "windows" {
			dirs = append(dirs, "/tmp")
		}
	}
	var out []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		out = append(out, filepath.Clean(d))
		if real, err := filepath.EvalSymlinks(d); err == nil {
			out = append(out, real)
		}
	}
	return out
}

// under reports whether path is one of dirs or inside one.
func under(path string, dirs []string) bool {
	for _, d := range dirs {
		rel, err := filepath.Rel(d, path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

func nonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Row is one probe under one backend: what it got and the verdict.
type Row struct {
	// Probe is the probe.
	Probe Probe `json:"-"`
	// Name is the probe's name.
	Name string `json:"probe"`
	// Result is the probe program's line (empty in a prediction).
	Result Result `json:"result"`
	// Expect is what the policy and the report say.
	Expect Expectation `json:"expectation"`
	// Verdict is the judgement.
	Verdict Verdict `json:"verdict"`
}

// Column is one backend's part of a comparison.
type Column struct {
	// Backend is the backend name.
	Backend string `json:"backend"`
	// Plan is the backend's plan for the probes' policy (nil when it
	// could not plan).
	Plan *core.Plan `json:"plan,omitempty"`
	// Rows are the probes, in the order of [Probes].
	Rows []Row `json:"rows"`
	// Startup is the wall time of running a program that exits at once
	// under the backend (plan, sandbox set-up, start, tear-down).
	Startup time.Duration `json:"startup_ns"`
	// Unavailable says why the backend could not run the probes ("" when
	// it did).
	Unavailable string `json:"unavailable,omitempty"`
	// Stderr is what the probe run wrote on stderr (sbx's downgrade
	// lines, errors of the probe program).
	Stderr string `json:"stderr,omitempty"`
}

// Failures returns the rows whose verdict means the backend does not do
// what it claims (see [Verdict.IsFailure]).
func (c *Column) Failures() []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.Verdict.IsFailure(r.Probe) {
			out = append(out, r)
		}
	}
	return out
}

// startupRuns is how many no-op runs measure a backend's startup.
const startupRuns = 3

// Run plans with b, then runs the probe program under it with the
// best-effort acceptance (so that every backend runs, whatever it can
// enforce, and its report says how strongly), and judges every result.
// An error means the probes could not run at all; the column then says
// why in Unavailable.
func (e *Env) Run(ctx context.Context, name string, b core.Backend) (*Column, error) {
	col := &Column{Backend: name}
	plan, err := b.Plan(ctx, e.Policy)
	if err != nil {
		col.Unavailable = "cannot plan: " + err.Error()
		return col, err
	}
	col.Plan = plan
	cfg := e.configFor(plan.Report)

	// Startup: the fastest of a few runs of a program that exits at once,
	// so that one-time costs (the plugin's first run) and noise on a busy
	// machine do not count.
	accept := core.Acceptance{BestEffort: true}
	for i := 0; i < startupRuns; i++ {
		begin := time.Now()
		if _, err := e.runProbe(ctx, b, accept, []string{ArgNoop}, nil, nil); err != nil {
			col.Unavailable = err.Error()
			return col, err
		}
		if d := time.Since(begin); i == 0 || d < col.Startup {
			col.Startup = d
		}
	}

	arg, _ := json.Marshal(cfg)
	var stdout, stderr bytes.Buffer
	res, err := e.runProbe(ctx, b, accept, []string{string(arg)}, &stdout, &stderr)
	col.Stderr = stderr.String()
	if err != nil {
		col.Unavailable = err.Error()
		return col, err
	}
	if res.ExitCode != 0 {
		err := fmt.Errorf("the probe program exited %d under %s: %s", res.ExitCode, name, strings.TrimSpace(col.Stderr))
		col.Unavailable = err.Error()
		return col, err
	}
	results := ParseResults(stdout.Bytes())
	for _, pr := range ForOS(runtime.GOOS) {
		r, ok := results[pr.Name]
		if !ok {
			r = Result{Probe: pr.Name, Outcome: OutcomeError, Detail: "the probe program printed no result for it"}
		}
		x := Expect(pr, e.Policy, &cfg, plan.Report)
		col.Rows = append(col.Rows, Row{Probe: pr, Name: pr.Name, Result: r, Expect: x, Verdict: Judge(x, r.Outcome)})
	}
	return col, nil
}

// PredictColumn is the column a plan alone gives for a backend of the given OS
// (sbx compare --explain): each probe's verdict as the report claims it
// would be, for policy p (which should be the policy the plan was made
// for).
func PredictColumn(name string, plan *core.Plan, p core.Policy, goos string) *Column {
	col := &Column{Backend: name, Plan: plan}
	c := &Config{Workspace: p.Workspace}
	existing, missing := protectedNames(p.Protected)
	if existing != "" {
		c.ProtectedExisting = filepath.Join(p.Workspace, existing)
	}
	if missing != "" {
		c.ProtectedMissing = filepath.Join(p.Workspace, missing)
	}
	for _, pr := range ForOS(goos) {
		x := Expect(pr, p, c, plan.Report)
		col.Rows = append(col.Rows, Row{Probe: pr, Name: pr.Name, Expect: x, Verdict: Predict(x)})
	}
	return col
}

// configFor adjusts the config to a backend's report: when the backend
// makes the outside directory writable after all (one of its temporary
// directories holds it), the probes that need an outside place are
// skipped rather than misjudged.
func (e *Env) configFor(r core.Report) Config {
	c := e.Config
	if c.Outside == "" {
		return c
	}
	var writable []string
	for _, el := range r.Elements {
		if el.Boundary == core.BoundaryWrite && el.Requested == core.ReqWritable {
			writable = append(writable, el.Subject)
		}
	}
	if under(c.Outside, writable) {
		c.Outside, c.OutsideFile, c.SymlinkOut = "", "", ""
	}
	return c
}

// runProbe runs the probe program with args under b.
func (e *Env) runProbe(ctx context.Context, b core.Backend, accept core.Acceptance, args []string, stdout, stderr io.Writer) (*core.RunResult, error) {
	var diag bytes.Buffer
	res, err := b.Run(ctx, &core.RunRequest{
		Policy:      e.Policy,
		Accept:      accept,
		Argv:        append([]string{e.ProbePath}, args...),
		Dir:         e.Policy.Workspace,
		Env:         os.Environ(),
		Stdout:      stdout,
		Stderr:      stderr,
		Diagnostics: &diag,
	})
	if err != nil {
		return nil, err
	}
	if stderr != nil && diag.Len() > 0 {
		_, _ = stderr.Write(diag.Bytes())
	}
	return res, nil
}

// ParseResults reads the probe program's output: one JSON Result per
// line. Lines that are not results are ignored.
func ParseResults(out []byte) map[string]Result {
	m := map[string]Result{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r Result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Probe != "" {
			m[r.Probe] = r
		}
	}
	return m
}

// FindProgram returns the sbx-probe program next to the running
// executable, or from $SBX_PROBE, or in PATH.
func FindProgram() (string, error) {
	name := "sbx-probe"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if v := os.Getenv("SBX_PROBE"); v != "" {
		return v, nil
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		p := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	return "", fmt.Errorf("sbx-probe was not found next to sbx, in $SBX_PROBE or in PATH: install it with sbx (`go build ./cmd/...` builds it): %w", core.ErrNotFound)
}
