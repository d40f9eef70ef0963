package windows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

func testSpec() LaunchSpec {
	_, d, _ := BuildPlan(PlanInput{Mode: ModeUnelevated, Policy: core.DefaultPolicy(`C:\work`), Nonce: testNonce}, FakeFacts())
	return LaunchSpec{
		TokenFlags: d.Token.Flags, DenyOnlySIDs: d.Token.DenyOnlySIDs, RestrictingSIDs: d.Token.RestrictingSIDs,
		DefaultDACL: d.Token.DefaultDACL, Job: d.Job,
		Child: ChildSpec{Argv: []string{"cmd.exe"}, Flags: d.Launch.ChildFlags},
	}
}

func TestLaunch_OrderAndChildOnlyRunsInsideJob(t *testing.T) {
	f := newFakeOS()
	f.exit <- 7
	l, err := Launch(f.apis(), testSpec())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"OpenSelf", "Restrict", "SetDefaultDACL", "CreateJob", "SetLimits", "CreateAsUser", "Assign", "Resume"}
	if got := f.callNames(); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	if len(f.violation) > 0 {
		t.Fatal(f.violation)
	}
	// Only the job and process handles remain, owned by the caller.
	if got := f.leaks(); len(got) != 2 {
		t.Fatalf("open handles after Launch: %v", got)
	}
	res, err := Supervise(context.Background(), f.apis(), l, SuperviseOptions{})
	if err != nil || res.ExitCode != 7 {
		t.Fatalf("res %+v err %v", res, err)
	}
	if got := f.leaks(); len(got) != 0 {
		t.Fatalf("leaked handles: %v", got)
	}
}

func TestLaunch_FailureAtEveryStepClosesEverythingAndNeverResumes(t *testing.T) {
	for _, step := range []string{"OpenSelf", "Restrict", "SetDefaultDACL", "CreateJob", "SetLimits", "CreateAsUser", "Assign", "Resume"} {
		t.Run(step, func(t *testing.T) {
			f := newFakeOS()
			f.fail[step] = errors.New("boom")
			if _, err := Launch(f.apis(), testSpec()); err == nil || !strings.Contains(err.Error(), "boom") {
				t.Fatalf("err = %v", err)
			}
			if got := f.leaks(); len(got) != 0 {
				t.Fatalf("leaked handles: %v", got)
			}
			if len(f.violation) > 0 {
				t.Fatal(f.violation)
			}
			calls := f.callNames()
			if step == "Assign" {
				if slices.Contains(calls, "Resume") || !slices.Contains(calls, "TerminateProcess") {
					t.Fatalf("after a failed Assign: calls %v (must terminate, never resume)", calls)
				}
			}
		})
	}
}

func TestLaunch_RefusesNonSuspendedChild(t *testing.T) {
	f := newFakeOS()
	s := testSpec()
	s.Child.Flags &^= CreateSuspended
	if _, err := Launch(f.apis(), s); err == nil || len(f.calls) != 0 {
		t.Fatalf("err %v calls %v", err, f.calls)
	}
}

func TestSupervise_TimeoutTerminatesJobWith124(t *testing.T) {
	f := newFakeOS()
	l, err := Launch(f.apis(), testSpec())
	if err != nil {
		t.Fatal(err)
	}
	fire := make(chan time.Time, 1)
	fire <- time.Time{}
	res, err := Supervise(context.Background(), f.apis(), l, SuperviseOptions{Timeout: time.Hour, After: func(time.Duration) <-chan time.Time { return fire }})
	if err != nil || !res.TimedOut || res.ExitCode != core.TimeoutExitCode {
		t.Fatalf("res %+v err %v", res, err)
	}
	if !slices.Contains(f.callNames(), "TerminateJob") || len(f.leaks()) != 0 {
		t.Fatalf("calls %v leaks %v", f.callNames(), f.leaks())
	}
}

func TestSupervise_CancelKillsTreeAndReportsCanceled(t *testing.T) {
	f := newFakeOS()
	l, _ := Launch(f.apis(), testSpec())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Supervise(ctx, f.apis(), l, SuperviseOptions{})
	if !errors.Is(err, core.ErrCanceled) || res.ExitCode != 137 || res.Signal != core.SIGKILL {
		t.Fatalf("res %+v err %v", res, err)
	}
	if len(f.leaks()) != 0 {
		t.Fatal(f.leaks())
	}
}

func TestSupervise_Signals(t *testing.T) {
	tests := []struct {
		name     string
		sig      core.Signal
		ctrlFail bool
		wantCall string
		wantCode int
	}{
		{"InterruptBecomesCtrlBreak", core.SIGINT, false, "CtrlBreak", 3},
		{"InterruptFallsBackToTerminate", core.SIGINT, true, "TerminateJob", 130},
		{"TermEndsJob", core.SIGTERM, false, "TerminateJob", 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOS()
			if tt.ctrlFail {
				f.fail["CtrlBreak"] = errors.New("no console")
			}
			l, _ := Launch(f.apis(), testSpec())
			sigs := make(chan core.Signal, 1)
			sigs <- tt.sig
			go func() {
				// The command exits by itself after Ctrl-Break.
				for !slices.Contains(f.callNames(), tt.wantCall) {
					time.Sleep(time.Millisecond)
				}
				f.TerminateProcess(l.Process, 3)
			}()
			res, err := Supervise(context.Background(), f.apis(), l, SuperviseOptions{Signals: sigs})
			if err != nil || res.ExitCode != tt.wantCode {
				t.Fatalf("res %+v err %v calls %v", res, err, f.callNames())
			}
		})
	}
}
