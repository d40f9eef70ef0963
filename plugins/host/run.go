package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins"
	"github.com/sbxdev/sbx/plugins/internal/fdpass"
	"github.com/sbxdev/sbx/plugins/internal/peercred"
	"github.com/sbxdev/sbx/plugins/internal/wire"
	pb "github.com/sbxdev/sbx/plugins/proto/backendv1"
)

// Run runs a command with the backend and waits for it.
//
// The host fails closed on its own side too: it checks the plan before the
// command starts and refuses, with *core.NotEnforcedError, a policy the
// report says the backend cannot hold at the strength req.Accept allows,
// whatever the plugin would have done. Downgrades the run accepts are
// printed to req.Diagnostics before the command starts.
//
// With a plugin of API 1.2 (feature run-plan) the plan comes inside the Run
// stream, and the plugin waits for the host's verdict before it starts
// anything; when its report is one this host already checked for the same
// backend and policy on this connection, the plugin starts at once. Older
// plugins are asked for the plan with Plan first.
//
// Standard streams: when every stream is an *os.File (or nil) and the
// plugin is local, the files themselves are passed to the plugin and on to
// the command; otherwise they are streamed. Cancelling ctx kills the
// command's whole process tree.
func (b *Backend) Run(ctx context.Context, req *core.RunRequest) (*core.RunResult, error) {
	if len(req.Argv) == 0 {
		return nil, &core.PolicyError{Problems: []core.Problem{{Field: "argv", Reason: "no command to run"}}}
	}
	planInRun := b.p.hasFeature(plugins.FeatureRunPlan)
	// plan is the checked plan of the run; nil while the plugin's is due.
	var plan *core.Plan
	if !planInRun {
		var err error
		if plan, err = b.Plan(ctx, req.Policy); err != nil {
			return nil, err
		}
		if err := plan.Report.Check(req.Accept); err != nil {
			return nil, err
		}
		// Print the accepted downgrades now, before the command can write
		// to the same terminal (its output does not pass through this
		// process).
		plan.Report.WriteDowngrades(req.Diagnostics)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := b.p.rpc.Run(ctx)
	if err != nil {
		return nil, b.err(err)
	}
	var sendMu sync.Mutex
	send := func(m *pb.RunInput) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}

	start := &pb.RunStart{
		Backend:       b.name,
		Policy:        wire.PolicyToProto(req.Policy),
		AllowAdvisory: req.Accept.AllowAdvisory,
		BestEffort:    req.Accept.BestEffort,
		Argv:          req.Argv,
		Dir:           req.Dir,
		Env:           req.Env,
		Umask:         req.Umask,

		HostPrintsDowngrades: true,
		NoStartedPid:         req.Started == nil,
	}
	if req.TTY != nil {
		start.Tty = &pb.WindowSize{Rows: uint32(req.TTY.Rows), Cols: uint32(req.TTY.Cols)}
	}
	streamed := true
	if files, ok := stdioFiles(req); ok && b.supportsFDs() {
		if err := b.sendFDs(start, files); err != nil {
			return nil, err
		}
		streamed = false
	} else {
		start.Stdio = pb.Stdio_STDIO_STREAM
		start.HasStdin, start.HasStdout, start.HasStderr = req.Stdin != nil, req.Stdout != nil, req.Stderr != nil
	}
	streamsStdin := streamed && req.Stdin != nil

	var plans *planCache
	var planKey string
	// printed are the downgrade lines printed before the start message,
	// from a cached plan.
	var printed map[string]bool
	if planInRun {
		start.PlanInRun = true
		if k, ok := planCacheKey(b.name, start.Policy); ok {
			plans, planKey = cacheOf(b.p), k
		}
		// A digest lets the plugin start without waiting for the host,
		// and stdin must not flow before it may start: only without
		// stdin to stream.
		if c, ok := plans.get(planKey); ok && !streamsStdin && c.plan.Report.Check(req.Accept) == nil {
			start.CheckedReportDigest = c.digest
			plan = c.plan
			printed = writeDowngrades(req.Diagnostics, plan.Report, nil)
		}
	}
	if err := send(&pb.RunInput{Msg: &pb.RunInput_Start{Start: start}}); err != nil {
		return nil, b.sendErr(stream, err)
	}

	done := make(chan struct{})
	defer close(done)
	startStdin := func() {
		if streamsStdin {
			go copyStdin(req.Stdin, send, done)
		}
	}
	if plan != nil {
		startStdin()
	}
	go forwardControl(req.Signals, req.Resize, send, done)

	var res *core.RunResult
	planned := false
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, b.err(err)
		}
		if p, ok := m.Msg.(*pb.RunOutput_Plan); ok {
			if !planInRun || planned {
				return nil, fmt.Errorf("plugin %s sent a plan it was not asked for: %w", b.p.path, core.ErrProtocol)
			}
			planned = true
			if plan, err = b.checkRunPlan(req, p.Plan); err != nil {
				return nil, err // cancelling the stream tells the plugin
			}
			printed = writeDowngrades(req.Diagnostics, plan.Report, printed)
			if d := p.Plan.GetReportDigest(); len(d) > 0 {
				plans.put(planKey, plan, d)
			}
			if err := send(&pb.RunInput{Msg: &pb.RunInput_Proceed{Proceed: true}}); err != nil {
				return nil, b.sendErr(stream, err)
			}
			startStdin()
			continue
		}
		if plan == nil {
			return nil, fmt.Errorf("plugin %s started the run before the host checked its plan: %w", b.p.path, core.ErrProtocol)
		}
		switch x := m.Msg.(type) {
		case *pb.RunOutput_StartedPid:
			if req.Started != nil {
				req.Started(int(x.StartedPid))
			}
		case *pb.RunOutput_Stdout:
			if req.Stdout != nil {
				if _, err := req.Stdout.Write(x.Stdout); err != nil {
					return nil, fmt.Errorf("writing the command's stdout: %w", err)
				}
			}
		case *pb.RunOutput_Stderr:
			if req.Stderr != nil {
				if _, err := req.Stderr.Write(x.Stderr); err != nil {
					return nil, fmt.Errorf("writing the command's stderr: %w", err)
				}
			}
		case *pb.RunOutput_Diagnostic:
			if req.Diagnostics != nil {
				fmt.Fprintln(req.Diagnostics, x.Diagnostic)
			}
		case *pb.RunOutput_Exit:
			if x.Exit != nil {
				res = wire.ResultFromProto(x.Exit)
			}
		}
	}
	if res == nil {
		if b.p.waitExited(time.Second); b.p.exited() {
			killOrphans()
			return nil, fmt.Errorf("backend plugin %s exited in the middle of the run: %w", b.p.path, core.ErrBackendExited)
		}
		return nil, fmt.Errorf("backend plugin %s ended the run without an exit status: %w", b.p.path, core.ErrProtocol)
	}
	if len(res.Report.Elements) == 0 && plan != nil {
		res.Report = plan.Report
		res.Report.Elements = append([]core.Element(nil), plan.Report.Elements...)
	}
	res.Report.Backend = b.name
	return res, nil
}

// checkRunPlan checks a plan the plugin sent inside Run as Plan's answer is
// checked: it must account for every element of the policy, and its report
// must hold at the strength req.Accept allows.
func (b *Backend) checkRunPlan(req *core.RunRequest, m *pb.RunPlan) (*core.Plan, error) {
	plan := wire.PlanFromProto(m.GetPlan())
	if plan == nil {
		return nil, fmt.Errorf("plugin %s sent an empty plan: %w", b.p.path, core.ErrProtocol)
	}
	if err := checkReport(req.Policy, plan.Report); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", b.p.path, err)
	}
	plan.Report.Backend = b.name
	if err := plan.Report.Check(req.Accept); err != nil {
		return nil, err
	}
	return plan, nil
}

// writeDowngrades prints r's downgrade lines to w, but for those in
// printed, and returns the lines printed so far. A run that started from
// a cached plan printed its lines before the start message; should the
// plugin's fresh plan differ, only its new lines are printed.
func writeDowngrades(w io.Writer, r core.Report, printed map[string]bool) map[string]bool {
	if w == nil {
		return printed
	}
	var buf bytes.Buffer
	r.WriteDowngrades(&buf)
	if buf.Len() == 0 {
		return printed
	}
	if printed == nil {
		printed = map[string]bool{}
	}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line != "" && !printed[line] {
			printed[line] = true
			_, _ = io.WriteString(w, line)
		}
	}
	return printed
}

// stdioFiles returns the request's streams as files when each is an
// *os.File or nil.
func stdioFiles(req *core.RunRequest) ([3]*os.File, bool) {
	var fs [3]*os.File
	for i, s := range []any{req.Stdin, req.Stdout, req.Stderr} {
		if s == nil {
			continue
		}
		f, ok := s.(*os.File)
		if !ok || f == nil {
			return fs, false
		}
		fs[i] = f
	}
	return fs, true
}

// sendFDs passes the run's descriptors to the plugin and marks start to
// name them. Nil streams become /dev/null.
func (b *Backend) sendFDs(start *pb.RunStart, files [3]*os.File) (err error) {
	for i, f := range files {
		if f != nil {
			continue
		}
		if files[i], err = devNull(i != 0); err != nil {
			return err
		}
	}
	var t [16]byte
	if _, err := rand.Read(t[:]); err != nil {
		return err
	}
	ticket := hex.EncodeToString(t[:])
	if b.p.fdSock != nil {
		b.p.sendMu.Lock()
		err = fdpass.Send(b.p.fdSock, ticket, files[:])
		b.p.sendMu.Unlock()
	} else if b.p.hasFeature(plugins.FeatureStdioFDConn) {
		err = b.p.sendToAgent(ticket, files[:])
	} else {
		pid := b.p.client.ReattachConfig().Pid
		err = fdpass.SendTo(b.p.fdAddr, func(c *net.UnixConn) error { return peercred.CheckServer(c, pid) }, ticket, files[:])
	}
	if err != nil {
		return fmt.Errorf("passing stdio to plugin %s: %v: %w", b.p.path, err, core.ErrBackendExited)
	}
	start.Stdio = pb.Stdio_STDIO_FDS
	start.FdTicket = ticket
	return nil
}

// devNulls are /dev/null opened for reading and for writing, once per
// process: the stand-ins for a run's nil streams, never closed.
var devNulls [2]struct {
	once sync.Once
	f    *os.File
	err  error
}

// devNull returns /dev/null open for writing (write) or reading.
func devNull(write bool) (*os.File, error) {
	i, flag := 0, os.O_RDONLY
	if write {
		i, flag = 1, os.O_WRONLY
	}
	d := &devNulls[i]
	d.once.Do(func() { d.f, d.err = os.OpenFile(os.DevNull, flag, 0) })
	return d.f, d.err
}

// copyStdin streams r to the plugin until end of file. A caller's reader
// that never returns (a terminal nobody types into) keeps this goroutine
// until the process exits; the run itself does not wait for it.
func copyStdin(r io.Reader, send func(*pb.RunInput) error, done <-chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			select {
			case <-done:
				return
			default:
			}
			if send(&pb.RunInput{Msg: &pb.RunInput_Stdin{Stdin: append([]byte(nil), buf[:n]...)}}) != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				_ = send(&pb.RunInput{Msg: &pb.RunInput_StdinClose{StdinClose: true}})
			}
			return
		}
	}
}

// forwardControl sends signals and window sizes to the plugin.
func forwardControl(sigs <-chan core.Signal, resize <-chan core.WindowSize, send func(*pb.RunInput) error, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s, ok := <-sigs:
			if !ok {
				sigs = nil
				continue
			}
			_ = send(&pb.RunInput{Msg: &pb.RunInput_Signal{Signal: int32(s)}})
		case ws, ok := <-resize:
			if !ok {
				resize = nil
				continue
			}
			_ = send(&pb.RunInput{Msg: &pb.RunInput_Resize{Resize: &pb.WindowSize{Rows: uint32(ws.Rows), Cols: uint32(ws.Cols)}}})
		}
	}
}

// sendErr turns an error of the Run stream's Send into the run's error.
// Send says only io.EOF when the stream broke (a plugin that died, say);
// gRPC gives the status that says why to the next Recv (the contract of
// grpc.ClientStream.SendMsg). Classed from EOF alone, a dead plugin could
// be reported before go-plugin noticed its exit, as an unclassed "EOF".
func (b *Backend) sendErr(stream pb.Backend_RunClient, err error) error {
	if errors.Is(err, io.EOF) {
		if _, rerr := stream.Recv(); rerr != nil && rerr != io.EOF {
			err = rerr
		}
	}
	return b.err(err)
}
