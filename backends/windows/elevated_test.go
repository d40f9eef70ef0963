package windows

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sbxdev/sbx/backends/windows/protocol"
	"github.com/sbxdev/sbx/core"
)

// fakeElevated wires RunElevated to an in-process runner (ServeRunner over
// net.Pipe) whose OS is another fakeOS.
type fakeElevated struct {
	plugin, runner *fakeOS
	stdio          *fakeStdio
	clientPID      func(runnerPID uint32) uint32
	nonce          string
	started        []string // argv the runner was started with
	served         chan error
}

func (f *fakeElevated) Password(account string) (string, error) { return "pw-" + account, nil }

func (f *fakeElevated) StartRunner(account, password string, argv []string, dir string) (Process, error) {
	f.started = argv
	return f.plugin.CreateAsUser(0, ChildSpec{Flags: CreateSuspended})
}

type fakeListener struct{ f *fakeElevated }

func (f *fakeElevated) Listen(name, sddl string) (PipeListener, error) {
	if !strings.Contains(sddl, "GRGW") {
		return nil, errors.New("bad pipe SDDL")
	}
	return fakeListener{f}, nil
}

func (l fakeListener) Accept(ctx context.Context) (io.ReadWriteCloser, uint32, error) {
	a, b := net.Pipe()
	sys := &System{LaunchAPIs: l.f.runner.apis(), Desktop: &fakeDesktop{}, Stdio: l.f.stdio, Files: &fakeFiles{}}
	go func() {
		l.f.served <- ServeRunner(context.Background(), b, sys, l.f.nonce, 4242, map[string]string{"USERPROFILE": `C:\Users\sbx-offline`})
		b.Close()
	}()
	var runnerPID uint32
	for h, p := range l.f.plugin.procs {
		_ = p
		runnerPID = uint32(h)
	}
	return a, l.f.clientPID(runnerPID), nil
}

func (l fakeListener) Close() error { return nil }

func elevatedSetup(t *testing.T, out string) (*fakeElevated, *ElevatedSystem, *RunInput) {
	fe := &fakeElevated{plugin: newFakeOS(), runner: newFakeOS(), stdio: &fakeStdio{out: out},
		clientPID: func(p uint32) uint32 { return p }, nonce: testNonce, served: make(chan error, 1)}
	sys := &ElevatedSystem{ACL: fe.plugin, Journal: &memStore{}, Creds: fe, Pipes: fe, Logon: fe, Job: fe.plugin, Process: fe.plugin, Now: fixedNow}
	f := FakeSetupDone()
	plan, d, err := BuildPlan(PlanInput{Mode: ModeElevated, Policy: core.DefaultPolicy(`C:\work`), Nonce: testNonce}, f)
	if err != nil {
		t.Fatal(err)
	}
	return fe, sys, &RunInput{Mode: ModeElevated, Plan: plan, Detail: d, Facts: f, Nonce: testNonce,
		Req: &core.RunRequest{Policy: core.DefaultPolicy(`C:\work`), Argv: []string{"cmd", "/c", "echo hi"}}}
}

func TestRunElevated_EndToEndOverTheProtocol(t *testing.T) {
	fe, sys, in := elevatedSetup(t, "hi\r\n")
	fe.runner.exit <- 5
	// The command reads all its input before it exits (otherwise whether
	// the input reaches it before its exit is a race).
	fe.runner.beforeExit = func() { fe.stdio.in.waitClosed() }
	var out bytes.Buffer
	in.Req.Stdout = &out
	in.Req.Stdin = strings.NewReader("input")
	pid := 0
	in.Req.Started = func(p int) { pid = p }
	res, err := RunElevated(context.Background(), sys, in)
	if err != nil || res.ExitCode != 5 || out.String() != "hi\r\n" || pid == 0 {
		t.Fatalf("res %+v err %v out %q pid %d", res, err, out.String(), pid)
	}
	if err := <-fe.served; err != nil {
		t.Fatal(err)
	}
	// The runner ran the confined launch sequence.
	want := []string{"OpenSelf", "Restrict", "SetDefaultDACL", "CreateJob", "SetLimits", "CreateAsUser", "Assign", "Resume"}
	if got := fe.runner.callNames(); !slices.Equal(got[:len(want)], want) {
		t.Fatalf("runner calls %v", got)
	}
	// The plugin put the runner in its outer job before resuming it.
	pc := fe.plugin.callNames()
	if slices.Index(pc, "Assign") > slices.Index(pc, "Resume") || slices.Index(pc, "SetDACL") > slices.Index(pc, "CreateAsUser") {
		t.Fatalf("plugin calls %v", pc)
	}
	if !slices.Contains(fe.started, testNonce) {
		t.Fatalf("runner argv %v lacks the nonce", fe.started)
	}
	if len(fe.runner.leaks()) != 0 || len(fe.plugin.leaks()) != 0 || len(fe.runner.violation)+len(fe.plugin.violation) != 0 {
		t.Fatalf("leaks %v %v violations %v %v", fe.runner.leaks(), fe.plugin.leaks(), fe.runner.violation, fe.plugin.violation)
	}
	if got := fe.stdio.in.waitClosed(); got != "input" {
		t.Fatalf("stdin relayed %q", got)
	}
}

func TestRunElevated_RefusesImpostorClient(t *testing.T) {
	fe, sys, in := elevatedSetup(t, "")
	fe.clientPID = func(p uint32) uint32 { return p + 1 }
	_, err := RunElevated(context.Background(), sys, in)
	if !errors.Is(err, ErrRunnerImpostor) || !errors.Is(err, core.ErrPermission) {
		t.Fatalf("err %v", err)
	}
	if len(fe.plugin.leaks()) != 0 {
		t.Fatalf("leaks %v", fe.plugin.leaks())
	}
}

func TestRunElevated_RefusesWrongNonce(t *testing.T) {
	fe, sys, in := elevatedSetup(t, "")
	fe.nonce = "not-the-nonce"
	_, err := RunElevated(context.Background(), sys, in)
	if !errors.Is(err, ErrRunnerImpostor) {
		t.Fatalf("err %v", err)
	}
}

func TestRunElevated_RunnerLaunchErrorComesBackWithStage(t *testing.T) {
	fe, sys, in := elevatedSetup(t, "")
	fe.runner.fail["CreateAsUser"] = errors.New("access denied")
	_, err := RunElevated(context.Background(), sys, in)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Stage != "launch" || !strings.Contains(pe.Message, "access denied") {
		t.Fatalf("err %v", err)
	}
}

func TestRunElevated_FailsBeforeRunnerWhenACLsFail(t *testing.T) {
	fe, sys, in := elevatedSetup(t, "")
	fe.plugin.fail["SetDACL"] = errors.New("denied")
	if _, err := RunElevated(context.Background(), sys, in); err == nil || fe.started != nil {
		t.Fatalf("err %v started %v", err, fe.started)
	}
}

func TestCheckSpawn_RunnerFailsClosed(t *testing.T) {
	good := protocol.Spawn{Argv: []string{"x"}, TokenFlags: TokenWriteRestricted, RestrictingSIDs: []string{"S-1-5-21-1-2-3-4"}, JobLimitFlags: JobLimitKillOnJobClose}
	if err := checkSpawn(&good); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(*protocol.Spawn){
		"NoArgv":             func(s *protocol.Spawn) { s.Argv = nil },
		"NotWriteRestricted": func(s *protocol.Spawn) { s.TokenFlags = TokenLUA },
		"NoRestrictingSIDs":  func(s *protocol.Spawn) { s.RestrictingSIDs = nil },
		"BadSID":             func(s *protocol.Spawn) { s.RestrictingSIDs = []string{"S-1-1-0;(A;;GA;;;WD)"} },
		"NoKillOnClose":      func(s *protocol.Spawn) { s.JobLimitFlags = 0 },
		"BreakawayAllowed":   func(s *protocol.Spawn) { s.JobLimitFlags |= 0x800 },
	}
	for name, mut := range tests {
		t.Run(name, func(t *testing.T) {
			s := good
			mut(&s)
			if err := checkSpawn(&s); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestRunElevated_OuterJobIsBestEffort(t *testing.T) {
	fe, sys, in := elevatedSetup(t, "ok")
	fe.plugin.fail["Assign"] = errors.New("nested jobs unsupported")
	fe.runner.exit <- 0
	var out bytes.Buffer
	in.Req.Stdout = &out
	res, err := RunElevated(context.Background(), sys, in)
	if err != nil || res.ExitCode != 0 || out.String() != "ok" {
		t.Fatalf("res %+v err %v", res, err)
	}
	<-fe.served
	if !slices.Contains(fe.plugin.callNames(), "TerminateProcess") || len(fe.plugin.leaks()) != 0 {
		t.Fatalf("calls %v leaks %v", fe.plugin.callNames(), fe.plugin.leaks())
	}
}

func TestServeRunner_RefusesBadFirstFrameAndBadSpawn(t *testing.T) {
	tests := []struct {
		name  string
		frame func(*protocol.Conn) error
		want  string
	}{
		{"StdinBeforeSpawn", func(c *protocol.Conn) error { return c.WriteRaw(protocol.TStdin, []byte("x")) }, "not spawn"},
		{"UnrestrictedSpawn", func(c *protocol.Conn) error {
			return c.WriteJSON(protocol.TSpawn, protocol.Spawn{Argv: []string{"cmd"}, JobLimitFlags: JobLimitKillOnJobClose})
		}, "write-restricted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			f := newFakeOS()
			done := make(chan error, 1)
			go func() {
				done <- ServeRunner(context.Background(), b, &System{LaunchAPIs: f.apis(), Desktop: &fakeDesktop{}, Stdio: &fakeStdio{}}, "n", 1, nil)
				b.Close()
			}()
			c := protocol.NewConn(a)
			if _, err := c.Read(); err != nil { // hello
				t.Fatal(err)
			}
			go tt.frame(c)
			// The runner may answer with an error frame; read until it closes.
			for {
				if _, err := c.Read(); err != nil {
					break
				}
			}
			err := <-done
			if err == nil || !strings.Contains(err.Error(), tt.want) || len(f.calls) != 0 {
				t.Fatalf("err %v calls %v", err, f.calls)
			}
		})
	}
}

// The runner applies exactly the plan's token, desktop, job and creation
// flags: what the plugin sends and the runner rebuilds round-trips.
func TestSpawn_RoundTripsThePlansConfinement(t *testing.T) {
	d := planElevatedDetail(t, core.DefaultPolicy(`C:\work`))
	sp := spawnFromDetail(d, []string{"cmd"}, `C:\work`, nil, nil)
	got := detailFromSpawn(&sp)
	gt, pt := got.Token, d.Token
	if gt.Flags != pt.Flags || !slices.Equal(gt.RestrictingSIDs, pt.RestrictingSIDs) ||
		!slices.Equal(gt.DenyOnlySIDs, pt.DenyOnlySIDs) || gt.DefaultDACL != pt.DefaultDACL {
		t.Errorf("token %+v, plan %+v", gt, pt)
	}
	if got.Desktop.Name != d.Desktop.Name || got.Desktop.SDDL != d.Desktop.SDDL {
		t.Errorf("desktop %+v, plan %+v", got.Desktop, d.Desktop)
	}
	want := d.Job
	want.LimitNames = nil // names are for explain; the flags carry them
	if want.JobMemoryBytes == 0 || want.ActiveProcess == 0 || want.CPURate == 0 || want.TimeoutMillis == 0 {
		t.Fatalf("the plan has no limits to carry: %+v", want)
	}
	if !reflect.DeepEqual(got.Job, want) {
		t.Errorf("job %+v, plan %+v", got.Job, want)
	}
	if got.Launch.ChildFlags != d.Launch.ChildFlags {
		t.Errorf("child flags %#x, plan %#x", got.Launch.ChildFlags, d.Launch.ChildFlags)
	}
}

func planElevatedDetail(t *testing.T, p core.Policy) *Detail {
	t.Helper()
	p.Limits.MemoryBytes = 1 << 30
	p.Limits.Pids = 64
	p.Limits.CPU = 1
	p.Limits.Timeout = 90 * time.Second
	_, d, err := BuildPlan(PlanInput{Mode: ModeElevated, Policy: p, Nonce: testNonce}, FakeSetupDone())
	if err != nil {
		t.Fatal(err)
	}
	return d
}
