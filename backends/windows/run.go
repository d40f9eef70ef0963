package windows

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sbxdev/sbx/backends/windows/protocol"
	"github.com/sbxdev/sbx/core"
)

// ChildStdio is the standard streams of a command: the ends the child
// inherits and the ends this process pumps.
type ChildStdio struct {
	// In, Out and Err are the child's inheritable ends (0 with a PTY).
	In, Out, Err Handle
	// PseudoConsole is the ConPTY, when a terminal was asked for.
	PseudoConsole Handle
	// Stdin is written to feed the child; closing it is EOF.
	Stdin io.WriteCloser
	// Stdout and Stderr are read to get its output (Stderr is nil with
	// a PTY: both go to the terminal).
	Stdout, Stderr io.Reader
	// Resize changes the PTY size (nil without a PTY).
	Resize func(rows, cols uint16) error
	// AfterStart closes this process's copies of the child's ends, so
	// that the output pipes end when the child exits.
	AfterStart func()
	// Finish, when set, is called once the command has exited and
	// before the output is drained: a pseudo console's output pipe only
	// ends when the console is closed (ClosePseudoConsole).
	Finish func()
	// Close releases everything (after the output is drained).
	Close func()
}

// StdioAPI creates the pipes or pseudo console of a command.
type StdioAPI interface {
	Open(tty *protocol.Resize) (*ChildStdio, error)
}

// FileAPI writes small files (the deny-bin stubs).
type FileAPI interface {
	WriteFiles(dir string, files map[string]string) error
}

// DesktopAPI creates the private desktop (and the temporary window-station
// ACE) of a run; the returned function undoes both.
type DesktopAPI interface {
	Prepare(d DesktopPlan) (func(), error)
}

// System bundles the OS implementations a confined launch uses.
type System struct {
	LaunchAPIs
	ACL     ACLAPI
	Journal JournalStore
	Files   FileAPI
	Desktop DesktopAPI
	Stdio   StdioAPI
	Now     func() time.Time
}

// CommandEnv builds the command's environment: the caller's (when the
// policy inherits it), the plan's variables, then the policy's own. Windows
// variable names are case-insensitive ("Path" is "PATH"), so a variable set
// by the plan or the policy replaces every case variant of it. With a
// deny-bin directory, it is put first on the caller's PATH.
func CommandEnv(base []string, pe core.EnvPolicy, e EnvPlan) []string {
	extra := map[string]string{}
	for k, v := range e.Set {
		extra[k] = v
	}
	if e.DenyBin != "" {
		if path, ok := lookupFold(base, "PATH"); ok && pe.Inherit {
			extra["PATH"] = e.DenyBin + ";" + path
		}
	}
	drop := map[string]bool{}
	for k := range extra {
		drop[strings.ToUpper(k)] = true
	}
	for k := range pe.Set {
		drop[strings.ToUpper(k)] = true
	}
	var kept []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[strings.ToUpper(k)] {
			kept = append(kept, kv)
		}
	}
	// Lower-case proxy variables are distinct for Unix tools but the same
	// variable on Windows: keep one spelling of each.
	for k := range extra {
		if up := strings.ToUpper(k); up != k {
			if _, both := extra[up]; both {
				delete(extra, k)
			}
		}
	}
	return core.BuildEnv(kept, pe, extra)
}

func lookupFold(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, key) {
			val, found = v, true
		}
	}
	return val, found
}

// RunConfined runs a command on this host under a plan's token, job and
// desktop: the unelevated mode in the plugin, and the elevated mode in the
// runner. It applies the plan's ACEs first when acl is true.
func RunConfined(ctx context.Context, sys *System, d *Detail, spec RunSpec) (*core.RunResult, error) {
	now := sys.Now
	if now == nil {
		now = time.Now
	}
	if spec.ApplyACLs {
		if _, err := ApplyACEs(sys.ACL, sys.Journal, d.ACEs, now); err != nil {
			return nil, fmt.Errorf("prepare the ACLs (nothing was run): %w", err)
		}
	}
	if d.Env.DenyBin != "" {
		if err := sys.Files.WriteFiles(d.Env.DenyBin, d.Env.Stubs); err != nil {
			return nil, fmt.Errorf("write the network stubs (nothing was run): %w", err)
		}
	}
	undoDesktop, err := sys.Desktop.Prepare(d.Desktop)
	if err != nil {
		return nil, fmt.Errorf("create the private desktop (nothing was run): %w", err)
	}
	defer undoDesktop()
	stdio, err := sys.Stdio.Open(spec.TTY)
	if err != nil {
		return nil, fmt.Errorf("create the command's stdio: %w", err)
	}
	defer stdio.Close()

	l, err := Launch(sys.LaunchAPIs, LaunchSpec{
		TokenFlags: d.Token.Flags, DenyOnlySIDs: d.Token.DenyOnlySIDs, RestrictingSIDs: d.Token.RestrictingSIDs,
		DefaultDACL: d.Token.DefaultDACL, Job: d.Job,
		Child: ChildSpec{Argv: spec.Argv, Dir: spec.Dir, Env: spec.Env, Desktop: d.Desktop.Name,
			Stdin: stdio.In, Stdout: stdio.Out, Stderr: stdio.Err, PseudoConsole: stdio.PseudoConsole, Flags: d.Launch.ChildFlags},
	})
	if err != nil {
		return nil, err
	}
	stdio.AfterStart()
	if spec.Started != nil {
		spec.Started(int(l.PID))
	}
	pumps := pumpStdio(stdio, spec)
	if spec.Resize != nil && stdio.Resize != nil {
		go func() {
			for ws := range spec.Resize {
				stdio.Resize(ws.Rows, ws.Cols)
			}
		}()
	}
	res, err := Supervise(ctx, sys.LaunchAPIs, l, SuperviseOptions{Timeout: time.Duration(d.Job.TimeoutMillis) * time.Millisecond, Signals: spec.Signals})
	if stdio.Finish != nil {
		stdio.Finish()
	}
	pumps.Wait()
	return res, err
}

// RunSpec is the command side of a confined run.
type RunSpec struct {
	Argv []string
	Dir  string
	Env  []string
	// ApplyACLs applies the plan's ACEs first (the plugin does; the
	// runner, as the sandbox user, cannot and does not).
	ApplyACLs bool
	TTY       *protocol.Resize
	Stdin     io.Reader
	Stdout    io.Writer
	Stderr    io.Writer
	Signals   <-chan core.Signal
	Resize    <-chan core.WindowSize
	Started   func(pid int)
}

// pumpStdio copies the caller's streams to and from the child; Wait
// returns when the output is drained.
func pumpStdio(s *ChildStdio, spec RunSpec) *sync.WaitGroup {
	var wg sync.WaitGroup
	if spec.Stdin != nil && s.Stdin != nil {
		go func() {
			io.Copy(s.Stdin, spec.Stdin)
			s.Stdin.Close()
		}()
	} else if s.Stdin != nil {
		s.Stdin.Close()
	}
	out := func(w io.Writer, r io.Reader) {
		if r == nil {
			return
		}
		if w == nil {
			w = io.Discard
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(w, r)
		}()
	}
	out(spec.Stdout, s.Stdout)
	out(spec.Stderr, s.Stderr)
	return &wg
}

// RunUnelevated runs a planned command in the unelevated mode: ACEs,
// stubs, desktop, then the confined launch in this process.
func RunUnelevated(ctx context.Context, sys *System, in *RunInput) (*core.RunResult, error) {
	req := in.Req
	return RunConfined(ctx, sys, in.Detail, RunSpec{
		Argv: req.Argv, Dir: req.WorkDir(), Env: CommandEnv(req.Env, req.Policy.Env, in.Detail.Env), ApplyACLs: true,
		TTY: ttyOf(req), Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr,
		Signals: req.Signals, Resize: req.Resize, Started: req.Started,
	})
}

// ttyOf is the pseudo console's size the request asks for (nil: pipes).
func ttyOf(req *core.RunRequest) *protocol.Resize {
	if req.TTY == nil {
		return nil
	}
	return &protocol.Resize{Rows: req.TTY.Rows, Cols: req.TTY.Cols}
}
