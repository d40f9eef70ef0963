package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sbxdev/sbx/core"
)

// runOptions are the flags of `sbx run` that are not policy.
type runOptions struct {
	json bool
	tty  string
}

func newRunCmd(a *app) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS...]",
		Short: "Run a command in the sandbox",
		Long: `Run CMD with ARGS in the sandbox, in the workspace (the current directory
unless --cwd), under the effective policy (see 'sbx config').

The run is strict: if the backend can hold part of the policy only
advisorily or not at all, sbx refuses to run (exit 125) and says what and
why. --allow-advisory or --best-effort accept such downgrades; each one is
then printed on stderr.

Flags after CMD belong to CMD; use -- to be explicit.

sbx exits with the command's status; a command killed by signal N gives
128+N, a timeout 124, sbx's own errors 125, a command that cannot be
executed 126, one that is not found 127.`,
		Example: `  sbx run -- make test
  sbx run --network=allow -- npm install
  sbx run --read-only --timeout 30s -- ./check.sh
  sbx run --writable-root ~/.cache --env CI=1 -- go test ./...
  sbx --backend=none run -- bash    # no sandbox, for comparison`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf(cmd, "run needs a command: sbx run [flags] -- CMD [ARGS...]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, args, o)
		},
	}
	cmd.Flags().SetInterspersed(false)
	addPolicyFlags(cmd)
	cmd.Flags().BoolVar(&o.json, "json", false, "when the command ends, print its result (exit code, signal, timeout, duration, report) as one JSON line on stderr")
	defer func() {
		_ = cmd.RegisterFlagCompletionFunc("tty", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	}()
	cmd.Flags().StringVar(&o.tty, "tty", "auto", "give the command a terminal (`WHEN`): auto (when stdin and stdout are a terminal and the backend supports it), always, never")
	return cmd
}

// run is `sbx run`.
func (a *app) run(cmd *cobra.Command, argv []string, o runOptions) error {
	if o.tty != "auto" && o.tty != "always" && o.tty != "never" {
		return usageErrorf(cmd, "--tty=%q: want auto, always or never", o.tty)
	}
	haveTerminal := a.env.Terminal != nil && a.env.Terminal.IsTerminal()
	if o.tty == "always" && !haveTerminal {
		return usageErrorf(cmd, "--tty=always: stdin and stdout are not a terminal")
	}
	cfg, err := a.resolvePolicy(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	set, b, err := a.openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer set.Close()
	a.startFrontAgent(set, cfg)

	req := &core.RunRequest{
		Policy:      cfg.Policy,
		Accept:      cfg.Accept,
		Argv:        argv,
		Env:         a.env.Environ(),
		Umask:       a.env.Umask,
		Stdin:       a.env.Stdin,
		Stdout:      a.env.Stdout,
		Stderr:      a.env.Stderr,
		Diagnostics: a.env.Stderr,
	}
	useTTY := false
	if o.tty != "never" && haveTerminal {
		// Only ask a backend that can give the command a terminal; in
		// auto mode a backend that cannot runs the command on the
		// terminal's streams as they are.
		info, err := b.Info(ctx)
		switch {
		case err != nil:
			return err
		case info.Capabilities.TTY:
			useTTY = true
		case o.tty == "always":
			return fmt.Errorf("--tty=always: backend %s cannot give the command a terminal", cfg.Backend)
		}
	}
	stop, err := a.startSession(req, useTTY)
	if err != nil {
		return err
	}
	res, err := func() (*core.RunResult, error) {
		defer stop() // restores the terminal even if Run panics
		return b.Run(ctx, req)
	}()
	if err != nil {
		return runError(cfg.Backend, err)
	}
	if o.json {
		line, jerr := json.Marshal(res)
		if jerr == nil {
			fmt.Fprintf(a.env.Stderr, "%s\n", line)
		}
	}
	switch {
	case res.TimedOut:
		fmt.Fprintf(a.env.Stderr, "sbx: timed out after %s; the command's process tree was killed\n", cfg.Policy.Limits.Timeout)
	case res.LimitExceeded != "":
		fmt.Fprintf(a.env.Stderr, "sbx: the command exceeded its %s limit\n", res.LimitExceeded)
	}
	if res.ExitCode != 0 {
		return &exitStatus{Code: res.ExitCode}
	}
	return nil
}

// runError maps an error of Backend.Run to what sbx reports: a command
// that could not be found exits 127, one the OS refused to execute 126
// (backends, through plugins/sdk/proc, class them core.ErrNotFound and
// core.ErrPermission: the backend itself was found already, so ErrNotFound
// here is about the command); an unclassed error whose text says so
// (commandProblem) the same. Other errors exit 125, with what to do added
// where core's message alone would leave the user guessing.
func runError(backend string, err error) error {
	switch {
	case errors.Is(err, core.ErrNotFound):
		return &codedError{code: exitNotFound, err: err}
	case errors.Is(err, core.ErrPermission):
		return &codedError{code: exitCannotExecute, err: err}
	case errors.Is(err, core.ErrSetupRequired) && !strings.Contains(err.Error(), "sbx setup"):
		return fmt.Errorf("%w\nRun 'sbx setup --backend=%s' once (it may need administrator rights)", err, backend)
	case errors.Is(err, core.ErrBackendExited):
		return fmt.Errorf("backend %s stopped during the run (the command's processes were killed with it): %w", backend, err)
	}
	if code := commandProblem(err); code != 0 {
		return &codedError{code: code, err: err}
	}
	return err
}

// startSession prepares the interactive side of a run: with a terminal it
// asks for a pty of the current size, puts sbx's terminal in raw mode and
// forwards window-size changes; in every case it forwards SIGINT, SIGTERM,
// SIGHUP and SIGQUIT to the command instead of dying, so that sbx stays to
// collect the exit status and clean up. The returned stop function undoes
// all of it (restores the terminal) and is safe to call once.
func (a *app) startSession(req *core.RunRequest, useTTY bool) (stop func(), err error) {
	var undo []func()
	stop = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}

	if useTTY {
		size, err := a.env.Terminal.Size()
		if err != nil {
			size = core.WindowSize{Rows: 24, Cols: 80}
		}
		req.TTY = &size
		restore, err := a.env.Terminal.MakeRaw()
		if err != nil {
			return nil, fmt.Errorf("cannot put the terminal in raw mode: %w (use --tty=never)", err)
		}
		undo = append(undo, func() { _ = restore() })
		req.Diagnostics = crlfWriter{w: a.env.Stderr}

		if len(resizeSignals) > 0 && a.env.Notify != nil {
			resize := make(chan core.WindowSize, 1)
			winch := make(chan os.Signal, 1)
			a.env.Notify(winch, resizeSignals...)
			done := make(chan struct{})
			go relayResizes(winch, resize, a.env.Terminal, done)
			req.Resize = resize
			undo = append(undo, func() {
				a.env.StopNotify(winch)
				close(done)
			})
		}
	}

	if a.env.Notify != nil {
		sigc := make(chan os.Signal, 8)
		fwd := make(chan core.Signal, 8)
		a.env.Notify(sigc, forwardedSignals...)
		done := make(chan struct{})
		go relaySignals(sigc, fwd, done)
		req.Signals = fwd
		undo = append(undo, func() {
			a.env.StopNotify(sigc)
			close(done)
		})
	}
	return stop, nil
}

// forwardedSignals are the signals sbx passes on to the command.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// toCoreSignal maps a received signal to core's numbering.
func toCoreSignal(s os.Signal) (core.Signal, bool) {
	switch s {
	case syscall.SIGINT, os.Interrupt:
		return core.SIGINT, true
	case syscall.SIGTERM:
		return core.SIGTERM, true
	case syscall.SIGHUP:
		return core.SIGHUP, true
	case syscall.SIGQUIT:
		return core.SIGQUIT, true
	}
	return 0, false
}

// relaySignals forwards signals to the run until done is closed. A signal
// that finds the channel full is dropped rather than blocking sbx.
func relaySignals(in <-chan os.Signal, out chan<- core.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s := <-in:
			if cs, ok := toCoreSignal(s); ok {
				select {
				case out <- cs:
				default:
				}
			}
		}
	}
}

// relayResizes sends the terminal's new size on each resize signal until
// done is closed. Only the latest size matters: an unread one is replaced.
func relayResizes(in <-chan os.Signal, out chan core.WindowSize, t terminal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-in:
			size, err := t.Size()
			if err != nil {
				continue
			}
			select {
			case <-out: // drop a stale size
			default:
			}
			select {
			case out <- size:
			default:
			}
		}
	}
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// startFrontAgent starts a front-end agent where the front end asked for one
// (environment.FrontSocket), so that the next commands skip this process's
// start-up, unless the configuration keeps nothing resident
// (plugin_keepalive = "0") or --debug is on. It is best effort: a failure
// only means the next command runs cold too. The agent is this process's
// child; the plugin host is told to keep it (it kills other children after
// a plugin crash).
func (a *app) startFrontAgent(set backendSet, cfg *config) {
	if a.env.FrontSocket == "" || a.env.StartFrontAgent == nil || cfg.PluginKeepAlive <= 0 || a.debug {
		return
	}
	pid, err := a.env.StartFrontAgent(a.env.FrontSocket, cfg.PluginKeepAlive)
	if err != nil {
		return
	}
	if k, ok := set.(interface{ KeepChild(int) }); ok {
		k.KeepChild(pid)
	}
}
