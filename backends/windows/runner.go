package windows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/sbxdev/sbx/backends/windows/protocol"
	"github.com/sbxdev/sbx/core"
)

// ServeRunner is the runner's side of the channel (cmd/sbx-windows-runner):
// it says hello with the nonce it was given, receives the command, runs it
// confined (restricted token from its own, sandbox-user token; suspended
// child in a Job; private desktop) and streams its output and exit back.
// profileEnv are the sandbox user's profile variables (USERPROFILE,
// APPDATA, ...), which replace the real user's in the command's
// environment.
func ServeRunner(ctx context.Context, rwc io.ReadWriter, sys *System, nonce string, pid uint32, profileEnv map[string]string) error {
	conn := protocol.NewConn(rwc)
	if err := conn.WriteJSON(protocol.THello, protocol.Hello{Nonce: nonce, PID: pid, Version: protocol.Version}); err != nil {
		return fmt.Errorf("say hello: %w", err)
	}
	f, err := conn.Read()
	if err != nil {
		return fmt.Errorf("read the command: %w", err)
	}
	if f.Type != protocol.TSpawn {
		return fmt.Errorf("first frame from the plugin is %s, not spawn: %w", f.Type, core.ErrProtocol)
	}
	var sp protocol.Spawn
	if err := protocol.Decode(f, &sp); err != nil {
		return err
	}
	if err := checkSpawn(&sp); err != nil {
		return sendError(conn, "spawn", err)
	}

	// Frames from the plugin: stdin, signals, resizes.
	stdinR, stdinW := io.Pipe()
	signals := make(chan core.Signal, 4)
	resize := make(chan core.WindowSize, 4)
	go func() {
		defer close(signals)
		defer close(resize)
		for {
			f, err := conn.Read()
			if err != nil {
				// The plugin is gone: end the command.
				stdinW.CloseWithError(err)
				signals <- core.SIGKILL
				return
			}
			switch f.Type {
			case protocol.TStdin:
				stdinW.Write(f.Payload)
			case protocol.TStdinEOF:
				stdinW.Close()
			case protocol.TSignal:
				var s protocol.Signal
				if protocol.Decode(f, &s) == nil {
					signals <- core.Signal(s.Signal)
				}
			case protocol.TResize:
				var r protocol.Resize
				if protocol.Decode(f, &r) == nil {
					resize <- core.WindowSize{Rows: r.Rows, Cols: r.Cols}
				}
			}
		}
	}()

	d := detailFromSpawn(&sp)
	res, err := RunConfined(ctx, sys, d, RunSpec{
		Argv: sp.Argv, Dir: sp.Dir, Env: overlayEnv(sp.Env, profileEnv), TTY: sp.TTY,
		Stdin: stdinR, Stdout: protocol.StreamWriter{C: conn, T: protocol.TStdout}, Stderr: protocol.StreamWriter{C: conn, T: protocol.TStderr},
		Signals: signals, Resize: resize,
		Started: func(pid int) { conn.WriteJSON(protocol.TStarted, protocol.Started{PID: uint32(pid)}) },
	})
	if res == nil {
		return sendError(conn, "launch", err)
	}
	return conn.WriteJSON(protocol.TExit, protocol.Exit{ExitCode: res.ExitCode, Signal: int(res.Signal), TimedOut: res.TimedOut, LimitExceeded: res.LimitExceeded})
}

// sendError reports a failure to the plugin, with the Win32 code when
// there is one.
func sendError(conn *protocol.Conn, stage string, err error) error {
	var code uint32
	var errno syscall.Errno
	if errors.As(err, &errno) {
		code = uint32(errno)
	}
	if werr := conn.WriteJSON(protocol.TError, protocol.Error{Stage: stage, Code: code, Message: err.Error()}); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

// spawnFromDetail is the command the plugin sends the runner: the plan's
// token, desktop and job (detailFromSpawn is its inverse), and the command.
func spawnFromDetail(d *Detail, argv []string, dir string, env []string, tty *protocol.Resize) protocol.Spawn {
	return protocol.Spawn{
		Argv: argv, Dir: dir, Env: env, TTY: tty,
		RestrictingSIDs: d.Token.RestrictingSIDs, DenyOnlySIDs: d.Token.DenyOnlySIDs, DefaultDACL: d.Token.DefaultDACL, TokenFlags: d.Token.Flags,
		Desktop: d.Desktop.Name, DesktopSDDL: d.Desktop.SDDL,
		JobLimitFlags: d.Job.LimitFlags, JobMemoryBytes: d.Job.JobMemoryBytes, ActiveProcess: d.Job.ActiveProcess,
		CPURate: d.Job.CPURate, CPURateFlags: d.Job.CPURateFlags, UILimits: d.Job.UILimits, TimeoutMillis: d.Job.TimeoutMillis,
	}
}

// detailFromSpawn rebuilds the parts of a plan the runner applies.
func detailFromSpawn(sp *protocol.Spawn) *Detail {
	return &Detail{
		Token:   TokenPlan{Flags: sp.TokenFlags, RestrictingSIDs: sp.RestrictingSIDs, DenyOnlySIDs: sp.DenyOnlySIDs, DefaultDACL: sp.DefaultDACL},
		Desktop: DesktopPlan{Name: sp.Desktop, SDDL: sp.DesktopSDDL},
		Job: JobPlan{LimitFlags: sp.JobLimitFlags, JobMemoryBytes: sp.JobMemoryBytes, ActiveProcess: sp.ActiveProcess,
			CPURate: sp.CPURate, CPURateFlags: sp.CPURateFlags, UILimits: sp.UILimits, TimeoutMillis: sp.TimeoutMillis},
		Launch: LaunchPlan{ChildFlags: childFlags},
	}
}

// overlayEnv replaces (case-insensitively) the variables of env named in
// overlay, except TEMP and TMP, which the plan already set.
func overlayEnv(env []string, overlay map[string]string) []string {
	o := map[string]string{}
	for k, v := range overlay {
		if k != "TEMP" && k != "TMP" {
			o[k] = v
		}
	}
	return CommandEnv(env, core.EnvPolicy{Inherit: true}, EnvPlan{Set: o})
}

// checkSpawn refuses a command whose confinement is missing, whatever the
// plugin sent: the runner fails closed on its own.
func checkSpawn(sp *protocol.Spawn) error {
	switch {
	case len(sp.Argv) == 0:
		return errors.New("empty command")
	case sp.TokenFlags&TokenWriteRestricted == 0 || len(sp.RestrictingSIDs) == 0:
		return fmt.Errorf("refusing to run without a write-restricted token: %w", core.ErrProtocol)
	case sp.JobLimitFlags&JobLimitKillOnJobClose == 0 || sp.JobLimitFlags&(JobLimitBreakawayOK|JobLimitSilentBreakawayOK) != 0:
		return fmt.Errorf("refusing a job without KILL_ON_JOB_CLOSE or with breakaway allowed: %w", core.ErrProtocol)
	}
	for _, s := range sp.RestrictingSIDs {
		if !validSID(s) {
			return fmt.Errorf("bad restricting SID %q: %w", s, core.ErrProtocol)
		}
	}
	return nil
}
