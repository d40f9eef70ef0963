package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins"
	"github.com/sbxdev/sbx/plugins/internal/fdpass"
	"github.com/sbxdev/sbx/plugins/internal/wire"
	pb "github.com/sbxdev/sbx/plugins/proto/backendv1"
)

// server implements the backend service over a set of core.Backends.
type server struct {
	pb.UnimplementedBackendServer

	backends map[string]core.Backend
	names    []string
	fds      *fdpass.Receiver // nil when the host passed no descriptor channel

	// root is cancelled when the plugin must stop (the host died): every
	// run's context derives from it, so every process tree is killed.
	root context.Context
	runs sync.WaitGroup
}

func newServer(root context.Context, backends []core.Backend, fds *fdpass.Receiver) (*server, error) {
	s := &server{backends: map[string]core.Backend{}, fds: fds, root: root}
	for _, b := range backends {
		info, err := b.Info(root)
		if err != nil {
			return nil, fmt.Errorf("sdk: backend info: %w", err)
		}
		if info.Name == "" {
			return nil, errors.New("sdk: a backend has an empty name")
		}
		if _, dup := s.backends[info.Name]; dup {
			return nil, fmt.Errorf("sdk: two backends are named %q", info.Name)
		}
		s.backends[info.Name] = b
		s.names = append(s.names, info.Name)
	}
	if len(s.names) == 0 {
		return nil, errors.New("sdk: no backends to serve")
	}
	sort.Strings(s.names)
	return s, nil
}

func (s *server) backend(name string) (core.Backend, error) {
	b, ok := s.backends[name]
	if !ok {
		return nil, wire.ToStatus(fmt.Errorf("this plugin serves %s, not %q: %w", strings.Join(s.names, ", "), name, core.ErrNotFound))
	}
	return b, nil
}

// setuper returns backend name as a core.Setuper, or a status error when
// it is unknown or needs no setup.
func (s *server) setuper(name string) (core.Setuper, error) {
	b, err := s.backend(name)
	if err != nil {
		return nil, err
	}
	su, ok := b.(core.Setuper)
	if !ok {
		return nil, wire.ToStatus(fmt.Errorf("backend %s needs no setup: %w", name, core.ErrUnsupported))
	}
	return su, nil
}

// policyFrom decodes a policy from the host and checks its shape (see
// anyOSAbs), as a status error when it is invalid.
func policyFrom(m *pb.Policy) (core.Policy, error) {
	p := wire.PolicyFromProto(m)
	if err := p.Validate(anyOSAbs, nil); err != nil {
		return core.Policy{}, wire.ToStatus(err)
	}
	return p, nil
}

func (s *server) Hello(_ context.Context, req *pb.HelloRequest) (*pb.HelloResponse, error) {
	if major(req.ApiVersion) != major(plugins.APIVersion) {
		return nil, wire.ToStatus(fmt.Errorf("host speaks backend API %s, this plugin speaks %s: upgrade the older of the two: %w",
			req.ApiVersion, plugins.APIVersion, core.ErrProtocol))
	}
	resp := &pb.HelloResponse{ApiVersion: plugins.APIVersion, Backends: s.names}
	if s.fds != nil {
		resp.Features = append(resp.Features, plugins.FeatureStdioFDs, plugins.FeatureStdioFDConn)
	}
	resp.Features = append(resp.Features, plugins.FeatureRunPlan)
	for _, b := range s.backends {
		if _, ok := b.(core.Setuper); ok {
			resp.Features = append(resp.Features, plugins.FeatureSetup)
			break
		}
	}
	return resp, nil
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}

func (s *server) Info(ctx context.Context, req *pb.InfoRequest) (*pb.InfoResponse, error) {
	b, err := s.backend(req.Backend)
	if err != nil {
		return nil, err
	}
	info, err := b.Info(ctx)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &pb.InfoResponse{Info: wire.InfoToProto(info)}, nil
}

func (s *server) Plan(ctx context.Context, req *pb.PlanRequest) (*pb.PlanResponse, error) {
	b, err := s.backend(req.Backend)
	if err != nil {
		return nil, err
	}
	p, err := policyFrom(req.Policy)
	if err != nil {
		return nil, err
	}
	plan, err := b.Plan(ctx, p)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &pb.PlanResponse{Plan: wire.PlanToProto(plan)}, nil
}

func (s *server) SetupStatus(ctx context.Context, req *pb.SetupStatusRequest) (*pb.SetupStatusResponse, error) {
	su, err := s.setuper(req.Backend)
	if err != nil {
		return nil, err
	}
	st, err := su.SetupStatus(ctx)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return wire.SetupStatusToProto(st), nil
}

func (s *server) Setup(req *pb.SetupRequest, stream pb.Backend_SetupServer) error {
	su, err := s.setuper(req.Backend)
	if err != nil {
		return err
	}
	sr := core.SetupRequest{Undo: req.Undo}
	if req.HasPolicy {
		p, err := policyFrom(req.Policy)
		if err != nil {
			return err
		}
		sr.Policy = &p
	}
	w := &lineWriter{send: func(line string) error { return stream.Send(&pb.SetupProgress{Line: line}) }}
	err = su.Setup(stream.Context(), sr, w)
	w.flush()
	return wire.ToStatus(err)
}

// Run serves one command; see backend.proto for the stream protocol.
func (s *server) Run(stream pb.Backend_RunServer) error {
	s.runs.Add(1)
	defer s.runs.Done()

	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return wire.ToStatus(fmt.Errorf("the first Run message must be a start message: %w", core.ErrProtocol))
	}
	b, err := s.backend(start.Backend)
	if err != nil {
		return err
	}
	p, err := policyFrom(start.Policy)
	if err != nil {
		return err
	}
	if len(start.Argv) == 0 {
		return wire.ToStatus(&core.PolicyError{Problems: []core.Problem{{Field: "argv", Reason: "no command to run"}}})
	}

	// The run ends when the host cancels the stream or the plugin must stop.
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	stopOnRoot := context.AfterFunc(s.root, cancel)
	defer stopOnRoot()

	out := &sender{stream: stream}
	req := &core.RunRequest{
		Policy: p,
		Accept: core.Acceptance{AllowAdvisory: start.AllowAdvisory, BestEffort: start.BestEffort},
		Argv:   start.Argv,
		Dir:    start.Dir,
		Env:    start.Env,
		Umask:  start.Umask,
	}
	if !start.NoStartedPid {
		req.Started = func(pid int) {
			_ = out.send(&pb.RunOutput{Msg: &pb.RunOutput_StartedPid{StartedPid: int64(pid)}})
		}
	}
	diag := &lineWriter{send: func(line string) error {
		return out.send(&pb.RunOutput{Msg: &pb.RunOutput_Diagnostic{Diagnostic: line}})
	}}
	req.Diagnostics = diag
	if start.HostPrintsDowngrades {
		req.Diagnostics = io.Discard
	}
	if t := start.Tty; t != nil {
		req.TTY = &core.WindowSize{Rows: uint16(t.Rows), Cols: uint16(t.Cols)}
	}

	var stdinW *io.PipeWriter
	switch start.Stdio {
	case pb.Stdio_STDIO_FDS:
		if s.fds == nil {
			return wire.ToStatus(fmt.Errorf("host asked for descriptor passing but gave no channel: %w", core.ErrProtocol))
		}
		files, err := s.fds.Take(start.FdTicket, 10*time.Second)
		if err != nil {
			return wire.ToStatus(fmt.Errorf("%v: %w", err, core.ErrProtocol))
		}
		defer func() {
			for _, f := range files {
				f.Close()
			}
		}()
		if len(files) != 3 {
			return wire.ToStatus(fmt.Errorf("host sent %d descriptors, want 3: %w", len(files), core.ErrProtocol))
		}
		req.Stdin, req.Stdout, req.Stderr = files[0], files[1], files[2]
	default:
		if start.HasStdin {
			var r *io.PipeReader
			r, stdinW = io.Pipe()
			req.Stdin = r
		}
		if start.HasStdout {
			req.Stdout = &chunkWriter{out: out, stderr: false}
		}
		if start.HasStderr {
			req.Stderr = &chunkWriter{out: out, stderr: true}
		}
	}

	signals := make(chan core.Signal, 8)
	resize := make(chan core.WindowSize, 8)
	req.Signals, req.Resize = signals, resize
	var proceed chan struct{}
	if start.PlanInRun {
		proceed = make(chan struct{})
	}
	inputDone := make(chan struct{})
	go func() {
		defer close(inputDone)
		receiveInput(ctx, stream, stdinW, signals, resize, proceed)
	}()

	if start.PlanInRun {
		plan, err := s.planInRun(ctx, b, p, start.CheckedReportDigest, out, proceed, inputDone)
		if err != nil {
			return err
		}
		req.Plan = plan // the backend may apply the plan whose report the host accepted
	}
	res, runErr := b.Run(ctx, req)
	diag.flush()
	if runErr != nil {
		return wire.ToStatus(runErr)
	}
	return out.send(&pb.RunOutput{Msg: &pb.RunOutput_Exit{Exit: wire.ResultToProto(res)}})
}

// planInRun is the plan step of a run with RunStart.plan_in_run: it plans
// the run and, unless the report is the one the host says it checked
// (digest), sends the plan and waits until the host's proceed closes
// proceed. It returns the plan, for the backend's Run; or a status error
// when planning fails, or when the host went away or stopped sending
// instead (inputDone; it refused the plan).
func (s *server) planInRun(ctx context.Context, b core.Backend, p core.Policy, checked []byte, out *sender,
	proceed, inputDone <-chan struct{}) (*core.Plan, error) {
	plan, err := b.Plan(ctx, p)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	report := wire.ReportToProto(plan.Report)
	digest, err := wire.ReportDigest(report)
	if err != nil {
		return nil, wire.ToStatus(fmt.Errorf("encoding the plan's report: %v: %w", err, core.ErrProtocol))
	}
	if len(checked) > 0 && bytes.Equal(digest, checked) {
		return plan, nil
	}
	m := wire.PlanToProto(plan)
	if err := out.send(&pb.RunOutput{Msg: &pb.RunOutput_Plan{Plan: &pb.RunPlan{Plan: m, ReportDigest: digest}}}); err != nil {
		return nil, err
	}
	select {
	case <-proceed:
		return plan, nil
	case <-ctx.Done():
		return nil, wire.ToStatus(fmt.Errorf("the host did not accept the plan (%w): %w", context.Cause(ctx), core.ErrCanceled))
	case <-inputDone:
		select {
		case <-proceed: // the host accepted, then closed its side
			return plan, nil
		default:
		}
		return nil, wire.ToStatus(fmt.Errorf("the host stopped sending before it accepted the plan: %w", core.ErrCanceled))
	}
}

// receiveInput feeds host messages to the run until the host stops sending.
// With a plan step, proceed is closed when the host accepts the plan; the
// host sends no stdin before that (signals may come, and are kept).
func receiveInput(ctx context.Context, stream pb.Backend_RunServer, stdinW *io.PipeWriter,
	signals chan<- core.Signal, resize chan<- core.WindowSize, proceed chan struct{}) {
	closeStdin := func() {
		if stdinW != nil {
			stdinW.Close()
			stdinW = nil
		}
	}
	defer closeStdin()
	sigs := &signalQueue{ctx: ctx, out: signals}
	for {
		in, err := stream.Recv()
		if err != nil {
			return
		}
		switch m := in.Msg.(type) {
		case *pb.RunInput_Stdin:
			if stdinW != nil {
				if _, err := stdinW.Write(m.Stdin); err != nil {
					// The command closed its stdin; drop the rest.
					closeStdin()
				}
			}
		case *pb.RunInput_StdinClose:
			closeStdin()
		case *pb.RunInput_Proceed:
			if proceed != nil {
				close(proceed)
				proceed = nil
			}
		case *pb.RunInput_Signal:
			sigs.push(core.Signal(m.Signal))
		case *pb.RunInput_Resize:
			if m.Resize != nil {
				select {
				case resize <- core.WindowSize{Rows: uint16(m.Resize.Rows), Cols: uint16(m.Resize.Cols)}:
				default: // a newer size will follow
				}
			}
		}
	}
}

// signalQueue hands signals to the run in the order they came, without
// ever blocking the receive loop: nothing reads them before the command has
// started, and the loop must still see proceed (and stdin) meanwhile. Its
// goroutine runs only while signals wait.
type signalQueue struct {
	ctx context.Context
	out chan<- core.Signal

	mu      sync.Mutex
	q       []core.Signal
	running bool
}

func (s *signalQueue) push(sig core.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q = append(s.q, sig)
	if !s.running {
		s.running = true
		go s.deliver()
	}
}

func (s *signalQueue) deliver() {
	for {
		s.mu.Lock()
		if len(s.q) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		sig := s.q[0]
		s.q = s.q[1:]
		s.mu.Unlock()
		select {
		case s.out <- sig:
		case <-s.ctx.Done():
			return
		}
	}
}

// sender serializes sends on a Run stream (gRPC streams allow one sender).
type sender struct {
	mu     sync.Mutex
	stream pb.Backend_RunServer
}

func (s *sender) send(m *pb.RunOutput) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Send(m)
}

// chunkWriter sends the command's output as Run messages, in chunks gRPC
// carries comfortably. Send blocks under flow control, which gives the
// command back-pressure instead of unbounded buffering.
type chunkWriter struct {
	out    *sender
	stderr bool
}

const maxChunk = 64 << 10

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := p
		if len(c) > maxChunk {
			c = c[:maxChunk]
		}
		buf := append([]byte(nil), c...)
		var m *pb.RunOutput
		if w.stderr {
			m = &pb.RunOutput{Msg: &pb.RunOutput_Stderr{Stderr: buf}}
		} else {
			m = &pb.RunOutput{Msg: &pb.RunOutput_Stdout{Stdout: buf}}
		}
		if err := w.out.send(m); err != nil {
			return n, err
		}
		n += len(c)
		p = p[len(c):]
	}
	return n, nil
}

// lineWriter turns writes into lines for send.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	send func(string) error
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if err := w.send(line); err != nil {
			return len(p), err
		}
	}
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		_ = w.send(string(w.buf))
		w.buf = nil
	}
}

// fdChannel opens the descriptor channel the host passed, if any.
func fdChannel() *fdpass.Receiver {
	v := os.Getenv(plugins.EnvFDChannel)
	if v == "" || !fdpass.Supported {
		return nil
	}
	var fd int
	if _, err := fmt.Sscanf(v, "%d", &fd); err != nil || fd < 3 {
		return nil
	}
	return fdpass.Listen(os.NewFile(uintptr(fd), "sbx-fd-channel"))
}

// anyOSAbs accepts a path that is absolute on Unix or on Windows. The
// server checks the shape of every policy before a backend sees it, but a
// plugin may plan for another OS than its own (`sbx explain
// --backend=windows-elevated` on Linux), so the OS-specific check is the
// backend's: each backend validates paths by the rules of the OS it runs on.
func anyOSAbs(p string) bool {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\\`) {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		(('a' <= p[0] && p[0] <= 'z') || ('A' <= p[0] && p[0] <= 'Z'))
}
