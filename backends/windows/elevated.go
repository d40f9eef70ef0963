package windows

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/sbxdev/sbx/backends/windows/protocol"
	"github.com/sbxdev/sbx/core"
)

// CredStore reads a sandbox user's password (DPAPI-decrypted).
type CredStore interface {
	Password(account string) (string, error)
}

// PipeListener is the plugin's end of the runner channel.
type PipeListener interface {
	// Accept waits for the runner to connect and returns the connection
	// and the client's process id (GetNamedPipeClientProcessId).
	Accept(ctx context.Context) (io.ReadWriteCloser, uint32, error)
	Close() error
}

// PipeAPI creates the runner channel.
type PipeAPI interface {
	// Listen creates the pipe (first instance, one instance, no remote
	// clients) with the given DACL.
	Listen(name, sddl string) (PipeListener, error)
}

// LogonAPI starts the runner as a sandbox user.
type LogonAPI interface {
	// StartRunner calls CreateProcessWithLogonW(account, ".", password,
	// LOGON_WITH_PROFILE, argv, CREATE_SUSPENDED|CREATE_NO_WINDOW).
	StartRunner(account, password string, argv []string, dir string) (Process, error)
}

// ElevatedSystem bundles what the plugin side of an elevated run uses.
type ElevatedSystem struct {
	ACL     ACLAPI
	Journal JournalStore
	Creds   CredStore
	Pipes   PipeAPI
	Logon   LogonAPI
	Job     JobAPI
	Process ProcessAPI
	Now     func() time.Time
	// ConnectTimeout bounds the wait for the runner (15s when zero).
	ConnectTimeout time.Duration
}

// ErrRunnerImpostor is returned when the pipe's client is not the runner
// sbx started, or does not know the run's nonce. It matches
// core.ErrPermission.
var ErrRunnerImpostor = fmt.Errorf("the runner channel was opened by another process: %w", core.ErrPermission)

// RunElevated runs a planned command as a sandbox user: it applies the
// plan's ACEs (as the real user, who owns the workspace), starts the runner
// with the user's credentials inside an outer Job (so that the runner and
// everything under it die with this process), checks that the process on
// the other end of the pipe is that runner and knows the nonce, then relays
// the command's streams, signals and exit over the framed protocol.
func RunElevated(ctx context.Context, sys *ElevatedSystem, in *RunInput) (*core.RunResult, error) {
	d, req := in.Detail, in.Req
	now := sys.Now
	if now == nil {
		now = time.Now
	}
	if _, err := ApplyACEs(sys.ACL, sys.Journal, d.ACEs, now); err != nil {
		return nil, fmt.Errorf("prepare the ACLs (nothing was run): %w", err)
	}
	password, err := sys.Creds.Password(d.RunAs.Account)
	if err != nil {
		return nil, fmt.Errorf("read the password of %s: %w (run `sbx setup --backend=windows-elevated` again to reset it)", d.RunAs.Account, err)
	}
	ln, err := sys.Pipes.Listen(d.Launch.PipeName, d.Launch.PipeSDDL)
	if err != nil {
		return nil, fmt.Errorf("create the runner pipe: %w", err)
	}
	defer ln.Close()

	// The runner: suspended, into the outer job, then resumed.
	p, err := sys.Logon.StartRunner(d.RunAs.Account, password, d.Launch.RunnerArgv, in.Facts.ExeDir)
	if err != nil {
		return nil, fmt.Errorf("start the runner as %s: %w", d.RunAs.Account, err)
	}
	defer sys.Process.Close(p.Process)
	// The outer job is defence in depth: the runner already ends the
	// command's job when the pipe breaks (this process died), and the
	// command's own job holds the tree. Assigning a process started by
	// the secondary logon service (which has a job of its own) needs
	// nested jobs (Windows 8 and later); if it fails the run goes on,
	// and kill falls back to terminating the runner.
	kill := func() { sys.Process.TerminateProcess(p.Process, 128+uint32(core.SIGKILL)) }
	if job, err := sys.Job.CreateJob(); err == nil {
		if sys.Job.SetLimits(job, JobPlan{LimitFlags: JobLimitKillOnJobClose}) == nil && sys.Job.Assign(job, p.Process) == nil {
			defer sys.Job.Close(job) // KILL_ON_JOB_CLOSE: nothing outlives the run
			kill = func() { sys.Job.TerminateJob(job, 128+uint32(core.SIGKILL)) }
		} else {
			sys.Job.Close(job)
		}
	}
	err = sys.Process.Resume(p.Thread)
	sys.Process.Close(p.Thread)
	// Whatever happens from here on, nothing of the run survives this
	// function (after a normal exit there is nothing left to kill).
	defer kill()
	if err != nil {
		return nil, fmt.Errorf("resume the runner: %w", err)
	}

	timeout := sys.ConnectTimeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	rwc, pid, err := ln.Accept(actx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("the runner did not connect: %w: %w", err, core.ErrBackendExited)
	}
	defer rwc.Close()
	if pid != p.PID {
		return nil, fmt.Errorf("pipe client is process %d, the runner is %d: %w", pid, p.PID, ErrRunnerImpostor)
	}
	conn := protocol.NewConn(rwc)
	if err := expectHello(conn, in.Nonce); err != nil {
		return nil, err
	}

	spawn := spawnFromDetail(d, req.Argv, req.WorkDir(), CommandEnv(req.Env, req.Policy.Env, d.Env), ttyOf(req))
	if err := conn.WriteJSON(protocol.TSpawn, spawn); err != nil {
		return nil, fmt.Errorf("send the command to the runner: %w: %w", err, core.ErrBackendExited)
	}
	return relay(ctx, conn, req, kill)
}

// expectHello reads the runner's first frame and checks its nonce and
// version.
func expectHello(conn *protocol.Conn, nonce string) error {
	f, err := conn.Read()
	if err != nil {
		return fmt.Errorf("read the runner's hello: %w", err)
	}
	if f.Type != protocol.THello {
		return fmt.Errorf("runner's first frame is %s, not hello: %w", f.Type, core.ErrProtocol)
	}
	var h protocol.Hello
	if err := protocol.Decode(f, &h); err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(h.Nonce), []byte(nonce)) != 1 {
		return fmt.Errorf("wrong session nonce: %w", ErrRunnerImpostor)
	}
	if h.Version != protocol.Version {
		return fmt.Errorf("runner speaks protocol %d, the plugin %d (reinstall sbx so both come from the same release): %w", h.Version, protocol.Version, core.ErrProtocol)
	}
	return nil
}

// relay moves the command's streams, signals and resizes over the runner
// channel until the exit frame. kill ends everything (ctx canceled).
func relay(ctx context.Context, conn *protocol.Conn, req *core.RunRequest, kill func()) (*core.RunResult, error) {
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	if req.Stdin != nil {
		go func() {
			io.Copy(protocol.StreamWriter{C: conn, T: protocol.TStdin}, req.Stdin)
			conn.WriteRaw(protocol.TStdinEOF, nil)
		}()
	} else {
		conn.WriteRaw(protocol.TStdinEOF, nil)
	}
	var canceled atomic.Bool
	go func() {
		signals, resize := req.Signals, req.Resize
		for {
			select {
			case <-stop:
				return
			case <-ctxDone(ctx):
				canceled.Store(true)
				kill()
				return
			case s, ok := <-signals:
				if !ok {
					signals = nil
					continue
				}
				conn.WriteJSON(protocol.TSignal, protocol.Signal{Signal: int(s)})
			case ws, ok := <-resize:
				if !ok {
					resize = nil
					continue
				}
				conn.WriteJSON(protocol.TResize, protocol.Resize{Rows: ws.Rows, Cols: ws.Cols})
			}
		}
	}()
	for {
		f, err := conn.Read()
		if err != nil {
			if canceled.Load() || ctx.Err() != nil {
				return &core.RunResult{ExitCode: 128 + int(core.SIGKILL), Signal: core.SIGKILL, Duration: time.Since(start)},
					fmt.Errorf("run canceled: %w", core.ErrCanceled)
			}
			if errors.Is(err, io.EOF) {
				err = errors.New("the runner closed the channel before the command's exit")
			}
			return nil, fmt.Errorf("%w: %w", err, core.ErrBackendExited)
		}
		switch f.Type {
		case protocol.TStarted:
			var s protocol.Started
			if err := protocol.Decode(f, &s); err != nil {
				return nil, err
			}
			if req.Started != nil {
				req.Started(int(s.PID))
			}
		case protocol.TStdout:
			if req.Stdout != nil {
				req.Stdout.Write(f.Payload)
			}
		case protocol.TStderr:
			if req.Stderr != nil {
				req.Stderr.Write(f.Payload)
			}
		case protocol.TError:
			var e protocol.Error
			if err := protocol.Decode(f, &e); err != nil {
				return nil, err
			}
			return nil, &e
		case protocol.TExit:
			var e protocol.Exit
			if err := protocol.Decode(f, &e); err != nil {
				return nil, err
			}
			return &core.RunResult{ExitCode: e.ExitCode, Signal: core.Signal(e.Signal), TimedOut: e.TimedOut,
				LimitExceeded: e.LimitExceeded, Duration: time.Since(start)}, nil
		default:
			return nil, fmt.Errorf("unexpected %s frame from the runner: %w", f.Type, core.ErrProtocol)
		}
	}
}
