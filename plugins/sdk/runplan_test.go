package sdk

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/internal/wire"
	pb "github.com/sbxdev/sbx/plugins/proto/backendv1"
)

// planBackend plans every requested element as enforced by mechanism, and
// counts its runs.
type planBackend struct {
	mu        sync.Mutex
	mechanism string
	runs      atomic.Int32
	// plans counts plans; each carries its number as Handle, and Run
	// records the Handle of the plan it was given.
	plans atomic.Int32
	given atomic.Value
}

func (b *planBackend) Info(context.Context) (core.Info, error) {
	return core.Info{Name: "fake", Available: true}, nil
}

func (b *planBackend) Plan(_ context.Context, p core.Policy) (*core.Plan, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	els := core.Requested(p, nil)
	for i := range els {
		els[i].Strength, els[i].Mechanism = core.Enforced, b.mechanism
	}
	return &core.Plan{Backend: "fake", Report: core.Report{Backend: "fake", Elements: els}, Handle: b.plans.Add(1)}, nil
}

func (b *planBackend) Run(_ context.Context, req *core.RunRequest) (*core.RunResult, error) {
	b.runs.Add(1)
	var given any = "no plan"
	if req.Plan != nil {
		given = req.Plan.Handle
	}
	b.given.Store(given)
	return &core.RunResult{ExitCode: 7}, nil
}

func (b *planBackend) setMechanism(m string) {
	b.mu.Lock()
	b.mechanism = m
	b.mu.Unlock()
}

// fakeRunStream is the plugin's side of a Run stream, driven by the test.
type fakeRunStream struct {
	grpc.ServerStream
	ctx context.Context
	in  chan *pb.RunInput
	out chan *pb.RunOutput
}

func newFakeRunStream(ctx context.Context) *fakeRunStream {
	return &fakeRunStream{ctx: ctx, in: make(chan *pb.RunInput, 4), out: make(chan *pb.RunOutput, 4)}
}

func (s *fakeRunStream) Context() context.Context { return s.ctx }

func (s *fakeRunStream) Send(m *pb.RunOutput) error {
	s.out <- m
	return nil
}

func (s *fakeRunStream) Recv() (*pb.RunInput, error) {
	select {
	case m, ok := <-s.in:
		if !ok {
			return nil, io.EOF
		}
		return m, nil
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
}

// newPlanServer returns a planBackend (mechanism "m1") and a server of it.
func newPlanServer(t *testing.T) (*planBackend, *server) {
	t.Helper()
	be := &planBackend{mechanism: "m1"}
	srv, err := newServer(context.Background(), []core.Backend{be}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return be, srv
}

// runPlanned serves one Run with plan_in_run and the digest given, and
// returns the stream and the handler's result channel. ws is the policy's
// workspace.
func runPlanned(ctx context.Context, srv *server, ws string, digest []byte) (*fakeRunStream, <-chan error) {
	st := newFakeRunStream(ctx)
	st.in <- &pb.RunInput{Msg: &pb.RunInput_Start{Start: &pb.RunStart{
		Backend:             "fake",
		Policy:              wire.PolicyToProto(core.DefaultPolicy(ws)),
		Argv:                []string{"x"},
		PlanInRun:           true,
		CheckedReportDigest: digest,
		NoStartedPid:        true,
	}}}
	done := make(chan error, 1)
	go func() { done <- srv.Run(st) }()
	return st, done
}

// A plugin asked to plan inside Run sends its plan, with a digest, before
// it starts anything, and starts only on the host's proceed; given back the
// digest of the same report it starts at once without sending the plan; a
// changed report is sent again and waited for; and a host that hangs up
// instead of proceeding gets nothing run.
func TestRun_PlanInRunWaitsForTheHostUnlessItCheckedTheSameReport(t *testing.T) {
	be, srv := newPlanServer(t)
	ws := t.TempDir()

	// 1. No digest: the plan comes first, and nothing runs before proceed.
	st, done := runPlanned(context.Background(), srv, ws, nil)
	m := <-st.out
	rp := m.GetPlan()
	if rp == nil || rp.Plan == nil || len(rp.ReportDigest) == 0 {
		t.Fatalf("first message = %v, want the plan with a report digest", m)
	}
	if n := be.runs.Load(); n != 0 {
		t.Fatalf("the backend ran %d times before the host accepted the plan", n)
	}
	st.in <- &pb.RunInput{Msg: &pb.RunInput_Proceed{Proceed: true}}
	if x := (<-st.out).GetExit(); x == nil || x.ExitCode != 7 {
		t.Fatalf("after proceed: got %v, want the exit status 7", x)
	}
	close(st.in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	digest := rp.ReportDigest

	// 2. The digest of the same report: no plan, no wait.
	st, done = runPlanned(context.Background(), srv, ws, digest)
	if x := (<-st.out).GetExit(); x == nil || x.ExitCode != 7 {
		t.Fatalf("with the checked digest: first message %v, want the exit status (no plan)", x)
	}
	close(st.in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// 3. The report changed since the host checked it: plan again, and wait.
	be.setMechanism("m2")
	st, done = runPlanned(context.Background(), srv, ws, digest)
	m = <-st.out
	if rp := m.GetPlan(); rp == nil || string(rp.ReportDigest) == string(digest) {
		t.Fatalf("a changed report: first message %v, want the new plan with another digest", m)
	}
	runs := be.runs.Load()
	st.in <- &pb.RunInput{Msg: &pb.RunInput_Proceed{Proceed: true}}
	if x := (<-st.out).GetExit(); x == nil || be.runs.Load() != runs+1 {
		t.Fatalf("after proceed: got %v, want one more run", x)
	}
	close(st.in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// 4. The host refuses the plan (it hangs up): nothing runs.
	ctx, cancel := context.WithCancel(context.Background())
	st, done = runPlanned(ctx, srv, ws, nil)
	if m := <-st.out; m.GetPlan() == nil {
		t.Fatalf("first message = %v, want the plan", m)
	}
	runs = be.runs.Load()
	cancel()
	if err := <-done; !errors.Is(wire.FromStatus(err), core.ErrCanceled) {
		t.Errorf("host hung up before proceed: Run = %v, want an error matching core.ErrCanceled", err)
	}
	if be.runs.Load() != runs {
		t.Error("the backend ran although the host never accepted the plan")
	}

	// 5. The host stops sending before proceed (half-close): nothing runs.
	st, done = runPlanned(context.Background(), srv, ws, nil)
	<-st.out
	close(st.in)
	if err := <-done; !errors.Is(wire.FromStatus(err), core.ErrCanceled) {
		t.Errorf("host half-closed before proceed: Run = %v, want an error matching core.ErrCanceled", err)
	}
	if be.runs.Load() != runs {
		t.Error("the backend ran although the host never accepted the plan")
	}
}

// The backend's Run gets the plan the step made (whose report the host
// accepted or had checked), so it can apply that plan instead of planning
// again.
func TestRun_TheBackendRunsWithThePlanOfItsPlanStep(t *testing.T) {
	be, srv := newPlanServer(t)
	ws := t.TempDir()
	st, done := runPlanned(context.Background(), srv, ws, nil)
	digest := (<-st.out).GetPlan().GetReportDigest()
	st.in <- &pb.RunInput{Msg: &pb.RunInput_Proceed{Proceed: true}}
	<-st.out
	close(st.in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := be.given.Load(), be.plans.Load(); got != want {
		t.Errorf("after the host accepted plan %d, Run got %v", want, got)
	}
	st, done = runPlanned(context.Background(), srv, ws, digest) // checked: not sent again
	<-st.out
	close(st.in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := be.given.Load(), be.plans.Load(); got != want || want != 2 {
		t.Errorf("with the checked digest, Run got %v; want the plan the step made (%d)", got, want)
	}
}

// Signals that arrive before the command can start (the plan step) are
// kept, in order, and never block the receive loop, which must still see
// proceed.
func TestReceiveInput_EarlySignalsAreKeptInOrderAndDoNotBlockProceed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := newFakeRunStream(ctx)
	st.in = make(chan *pb.RunInput, 32)
	signals := make(chan core.Signal, 2) // fewer slots than signals
	proceed := make(chan struct{})
	for i := 1; i <= 10; i++ {
		st.in <- &pb.RunInput{Msg: &pb.RunInput_Signal{Signal: int32(i)}}
	}
	st.in <- &pb.RunInput{Msg: &pb.RunInput_Proceed{Proceed: true}}
	go receiveInput(ctx, st, nil, signals, make(chan core.WindowSize, 1), proceed)
	<-proceed
	for i := 1; i <= 10; i++ {
		if got := <-signals; got != core.Signal(i) {
			t.Fatalf("signal %d: got %d, want them in order", i, got)
		}
	}
}
