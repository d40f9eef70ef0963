package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/sbxdev/sbx/core"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// environment is everything sbx takes from the outside world, so that the
// whole command tree runs in-process in tests: streams, environment
// variables, the current directory, the terminal, signals and the plugin
// host. main wires it to the real process (osEnvironment).
type environment struct {
	// Stdin, Stdout and Stderr are sbx's streams. When they are *os.File
	// they are handed to the sandboxed command as they are.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv and Environ read sbx's environment (os.LookupEnv,
	// os.Environ).
	LookupEnv func(string) (string, bool)
	Environ   func() []string
	// Getwd returns the current directory.
	Getwd func() (string, error)
	// Backends opens the plugin host with the configured options.
	Backends func(pluginOptions) (backendSet, error)
	// DefaultBackend is the backend used when nothing names one.
	DefaultBackend string
	// Terminal is sbx's terminal; nil means stdin is not a terminal.
	Terminal terminal
	// Notify and StopNotify are signal.Notify and signal.Stop.
	Notify     func(c chan<- os.Signal, sig ...os.Signal)
	StopNotify func(c chan<- os.Signal)
	// Context is the context commands run in; nil means
	// context.Background(). The front-end agent cancels it when its
	// client goes away.
	Context context.Context
	// Umask is the caller's file mode creation mask, which the command gets
	// (nil: the backend's own).
	Umask *uint32
	// RunOnly makes every command but `sbx run` fail with errFallback
	// before it does anything: the front-end agent serves only runs.
	RunOnly bool
	// FrontSocket is where the lean front end wants a front-end agent to
	// listen ($SBX_FRONT_SOCKET, which main takes out of the environment):
	// set when it found none there. `sbx run` then starts one with
	// StartFrontAgent (nil: never), for the next commands.
	FrontSocket     string
	StartFrontAgent func(socket string, idle time.Duration) (pid int, err error)
}

// app is one invocation of sbx: the environment and the persistent flags.
type app struct {
	env *environment
	// debug sends plugin logs to stderr (--debug).
	debug bool
}

// commands are sbx's subcommands (`sbx --help` lists them sorted by name).
// Adding a subcommand is one line here plus its cmd_NAME.go file; commands
// that take a policy call addPolicyFlags and (*app).resolvePolicy.
var commands = []func(*app) *cobra.Command{
	newRunCmd,
	newExplainCmd,
	newBackendsCmd,
	newConfigCmd,
	newSetupCmd,
	newVersionCmd,
	newCompareCmd,
	newConformanceCmd,
	newAgentsCmd,
	// newFrontAgentCmd is added by init in cmd_frontagent.go: the agent
	// runs the command tree itself, which a variable initialiser may not
	// refer back to.
}

// newRootCmd builds the sbx command tree over env.
func newRootCmd(env *environment) *cobra.Command {
	a := &app{env: env}
	root := &cobra.Command{
		Use:   "sbx",
		Short: "Run commands in a sandbox that limits writes and network access",
		Long: `sbx runs a command so that it can write only where the policy allows
(the workspace, minus protected names such as .git) and reach the network only
if the policy allows, on Linux, Windows and macOS, through pluggable backends.

The policy comes from, lowest precedence first: defaults, the user config file,
the project file .sbx.toml, the selected profile, SBX_* variables, and flags.
See 'sbx config' for the effective policy and docs/configuration.md.

Exit status of 'sbx run': the command's own; 125 when sbx itself fails or
refuses (bad configuration, a policy the backend cannot enforce); 126 when
the command cannot be executed; 127 when it is not found.`,
		Example: `  sbx run -- make test
  sbx --backend=none run --network=allow -- curl https://example.com
  sbx run --writable-root ~/.cache/go-build --timeout 10m -- go test ./...
  sbx explain --network=allow
  sbx backends`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	if env.RunOnly {
		root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
			if cmd.Name() != "run" || cmd.Parent() != cmd.Root() {
				return errFallback
			}
			return nil
		}
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.PersistentFlags().String(fBackend, "", "use the backend `NAME` (see 'sbx backends'; default: $SBX_BACKEND, backend in config, or the host's default)")
	root.PersistentFlags().BoolVar(&a.debug, "debug", false, "show plugin log output on stderr")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{err: err, cmd: c.CommandPath()}
	})
	for _, newCmd := range commands {
		root.AddCommand(newCmd(a))
	}
	_ = root.RegisterFlagCompletionFunc(fBackend, a.completeBackends)
	return root
}

// completeBackends completes --backend with the names of the backends the
// plugins found serve (starting them, as `sbx backends` does).
func (a *app) completeBackends(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cfg, err := a.loadQuietly(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	set, err := a.openBackends(cfg)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer set.Close()
	var names []string
	for _, l := range set.List(cmd.Context()) {
		if l.Err == nil && strings.HasPrefix(l.Name, toComplete) {
			names = append(names, l.Name+"\t"+l.Info.Description)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// execute runs sbx with args (without the program name) and returns its
// exit status. It prints sbx's own errors on stderr as "sbx: ...".
func execute(env *environment, args []string) int {
	root := newRootCmd(env)
	root.SetArgs(args)
	ctx := env.Context
	if ctx == nil {
		ctx = context.Background()
	}
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if errors.Is(err, errFallback) {
		return codeFallback
	}
	var es *exitStatus
	if !errors.As(err, &es) {
		msg := err.Error()
		var ue *usageError
		if errors.As(err, &ue) || strings.HasPrefix(msg, "unknown command") {
			path := "sbx"
			if ue != nil {
				path = ue.cmd
			}
			msg += fmt.Sprintf("\nRun '%s --help' for usage.", path)
		}
		fmt.Fprintf(env.Stderr, "sbx: %s\n", msg)
	}
	return exitCode(err)
}

// usageError is a mistake in the command line itself.
type usageError struct {
	err error
	cmd string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns a usageError for cmd.
func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...), cmd: cmd.CommandPath()}
}

// warnEnvTypos prints a warning for SBX_* variables that look like typos.
func (a *app) warnEnvTypos() {
	for _, w := range envTypos(a.env.Environ()) {
		fmt.Fprintf(a.env.Stderr, "sbx: %s\n", w)
	}
}

// openBackends starts the plugin host with cfg's plugin options.
func (a *app) openBackends(cfg *config) (backendSet, error) {
	var logs io.Writer = io.Discard
	if a.debug {
		logs = a.env.Stderr
	}
	return a.env.Backends(cfg.pluginOptions(logs))
}

// openBackend opens the plugin host and the backend cfg names. The caller
// closes the set (which stops the plugins) when done; on error nothing is
// left open.
func (a *app) openBackend(ctx context.Context, cfg *config) (backendSet, core.Backend, error) {
	set, err := a.openBackends(cfg)
	if err != nil {
		return nil, nil, err
	}
	b, err := set.Open(ctx, cfg.Backend)
	if err != nil {
		set.Close()
		return nil, nil, err
	}
	return set, b, nil
}
