package windows

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

func TestRunSequence_RollsBackAppliedStepsNewestFirst(t *testing.T) {
	var log []string
	act := func(name string, fail bool) Action {
		return Action{
			Name: name,
			Apply: func(context.Context) error {
				log = append(log, "apply "+name)
				if fail {
					return errors.New("boom")
				}
				return nil
			},
			Rollback: func() error { log = append(log, "rollback "+name); return nil },
		}
	}
	err := RunSequence(context.Background(), []Action{act("a", false), act("b", false), act("c", true), act("d", false)}, nil)
	var se *StepError
	if !errors.As(err, &se) || se.Step != "c" || len(se.RollbackErrs) != 0 {
		t.Fatalf("err = %v", err)
	}
	want := []string{"apply a", "apply b", "apply c", "rollback b", "rollback a"}
	if !slices.Equal(log, want) {
		t.Fatalf("log %v, want %v", log, want)
	}
}

func TestRunSequence_ReportsFailedRollbacks(t *testing.T) {
	actions := []Action{
		{Name: "a", Apply: func(context.Context) error { return nil }, Rollback: func() error { return errors.New("stuck") }},
		{Name: "b", Apply: func(context.Context) error { return errors.New("boom") }},
	}
	err := RunSequence(context.Background(), actions, nil)
	if err == nil || !strings.Contains(err.Error(), "rollback incomplete") || !strings.Contains(err.Error(), "stuck") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunSequence_CanceledContextStopsAndRollsBack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rolled := false
	actions := []Action{
		{Name: "a", Apply: func(context.Context) error { cancel(); return nil }, Rollback: func() error { rolled = true; return nil }},
		{Name: "b", Apply: func(context.Context) error { t.Fatal("ran after cancel"); return nil }},
	}
	if err := RunSequence(ctx, actions, nil); !errors.Is(err, context.Canceled) || !rolled {
		t.Fatalf("err %v rolled %v", err, rolled)
	}
}

type memMarkers struct{ m *Marker }

func (s *memMarkers) LoadMarker() (*Marker, error) { return s.m, nil }
func (s *memMarkers) SaveMarker(m *Marker) error   { c := *m; s.m = &c; return nil }
func (s *memMarkers) RemoveMarker() error          { s.m = nil; return nil }

func testSetupEnv(f *fakeOS) (*SetupEnv, *memMarkers) {
	mk := &memMarkers{}
	base, _ := BaseSID(FakeFacts().SIDSeed)
	return &SetupEnv{
		Users: f, Firewall: f, ACL: f, Markers: mk, Now: fixedNow,
		Payload: SetupPayload{Version: SetupVersion, RealUserSID: FakeFacts().UserSID, BaseSID: base,
			OfflinePassword: strings.Repeat("Aa1!", 6), OnlinePassword: strings.Repeat("Bb2?", 6), MachineDir: `C:\ProgramData\sbx`},
	}, mk
}

func TestSetupActions_CompleteSetupWritesMarkerLast(t *testing.T) {
	f := newFakeOS()
	env, mk := testSetupEnv(f)
	var out bytes.Buffer
	if err := RunSequence(context.Background(), SetupActions(env), &out); err != nil {
		t.Fatal(err)
	}
	want := []string{"CreateGroup", "CreateUser", "CreateUser", "AddToGroup", "AddToGroup", "CreateProfile", "CreateProfile", "AddACEs", "AddACEs", "WFPInstall"}
	if got := f.callNames(); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	m := mk.m
	if m == nil || m.Version != SetupVersion || m.OfflineSID == "" || m.Filters != 4 || m.ReadACLs != "in progress" {
		t.Fatalf("marker %+v", m)
	}
	if m.OfflineTemp != `C:\Users\sbx-offline\AppData\Local\Temp` {
		t.Fatalf("offline temp %q", m.OfflineTemp)
	}
	if len(f.violation) > 0 {
		t.Fatal(f.violation)
	}
	if !strings.Contains(out.String(), "[8/8]") {
		t.Fatalf("progress %q", out.String())
	}
}

func TestSetupActions_FailureRollsBackEverything(t *testing.T) {
	for _, step := range []string{"CreateUser", "CreateProfile", "AddACEs", "WFPInstall"} {
		t.Run(step, func(t *testing.T) {
			f := newFakeOS()
			f.fail[step] = errors.New("boom")
			env, mk := testSetupEnv(f)
			err := RunSequence(context.Background(), SetupActions(env), nil)
			var se *StepError
			if !errors.As(err, &se) {
				t.Fatalf("err %v", err)
			}
			if len(f.users) != 0 {
				t.Fatalf("accounts left behind: %v", f.users)
			}
			if mk.m != nil || f.wfp != 0 {
				t.Fatalf("marker %+v, %d filters left", mk.m, f.wfp)
			}
		})
	}
}

func TestUndoActions_RemoveEverythingEvenAfterErrors(t *testing.T) {
	f := newFakeOS()
	env, mk := testSetupEnv(f)
	if err := RunSequence(context.Background(), SetupActions(env), nil); err != nil {
		t.Fatal(err)
	}
	f.fail["DeleteProfile"] = errors.New("in use")
	err := RunAll(context.Background(), UndoActions(env, &memStore{}), nil)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err %v", err)
	}
	if len(f.users) != 0 || mk.m != nil || f.wfp != 0 {
		t.Fatalf("left: users %v marker %v filters %d", f.users, mk.m, f.wfp)
	}
}

func TestReadTargets_SkipCredentialsAppDataAndReparsePoints(t *testing.T) {
	grant, skipped := ReadTargets(`C:\Users\alice`, []DirEntry{
		{Name: ".ssh", IsDir: true}, {Name: ".AWS", IsDir: true}, {Name: "AppData", IsDir: true},
		{Name: "NTUSER.DAT"}, {Name: "ntuser.dat.LOG1"}, {Name: "My Documents", IsDir: true, Reparse: true},
		{Name: "go", IsDir: true}, {Name: ".gitconfig"}, {Name: ".npmrc"}, {Name: ".cargo", IsDir: true},
	})
	want := []string{`C:\Users\alice\go`, `C:\Users\alice\.gitconfig`, `C:\Users\alice\AppData\Local\Programs`, `C:\Users\alice\.cargo\bin`}
	if !slices.Equal(grant, want) {
		t.Fatalf("grant %v, want %v", grant, want)
	}
	if len(skipped) != 8 {
		t.Fatalf("skipped %v", skipped)
	}
}

func TestReadACLPass_GrantsOnlyWhereNeededAndJournals(t *testing.T) {
	f := newFakeOS()
	f.dacl[winKey(`C:\Users\alice\go`)] = "D:(A;OICI;FA;;;S-1-5-21-1111111111-2222222222-3333333333-1001)"
	f.dacl[winKey(`C:\Users\alice\pub`)] = "D:(A;OICIID;0x1200a9;;;BU)"
	st := &memStore{}
	var out bytes.Buffer
	err := ReadACLPass(context.Background(), f, st, "S-1-5-21-9-9-9-1000", []string{`C:\Users\alice\go`, `C:\Users\alice\pub`}, &out, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.dacl[winKey(`C:\Users\alice\go`)], "(A;OICI;0x1200a9;;;S-1-5-21-9-9-9-1000)") {
		t.Fatalf("go dir DACL %q", f.dacl[winKey(`C:\Users\alice\go`)])
	}
	if strings.Contains(f.dacl[winKey(`C:\Users\alice\pub`)], "9-9-9") {
		t.Fatal("granted where Users can already read")
	}
	if j, _ := loadJournal(st); len(j.Entries) != 1 {
		t.Fatalf("journal %+v", j.Entries)
	}
	if !strings.Contains(out.String(), "read-acl 2/2") {
		t.Fatalf("progress %q", out.String())
	}
}

func TestNewPassword_HasEveryClassAndDiffers(t *testing.T) {
	a, err := NewPassword(24)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewPassword(24)
	if len(a) != 24 || a == b {
		t.Fatalf("%q %q", a, b)
	}
	for _, set := range []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#%+-.:=?@_~"} {
		if !strings.ContainsAny(a, set) {
			t.Fatalf("%q lacks one of %q", a, set)
		}
	}
}

func TestUnmarshalPayload_RefusesBadInput(t *testing.T) {
	env, _ := testSetupEnv(newFakeOS())
	good, _ := MarshalPayload(env.Payload)
	if _, err := UnmarshalPayload(good); err != nil {
		t.Fatal(err)
	}
	bad := env.Payload
	bad.OfflinePassword = "short"
	b, _ := MarshalPayload(bad)
	if _, err := UnmarshalPayload(b); err == nil {
		t.Fatal("short password accepted")
	}
	old := env.Payload
	old.Version = 0
	b, _ = MarshalPayload(old)
	if _, err := UnmarshalPayload(b); err == nil {
		t.Fatal("old version accepted")
	}
}

func TestElevatedStatus(t *testing.T) {
	m := &Marker{Version: SetupVersion, CreatedAt: time.Unix(0, 0), GroupSID: "g", OfflineSID: "o", OnlineSID: "n", Filters: 4, ReadACLs: "in progress"}
	tests := []struct {
		name     string
		m        *Marker
		creds    bool
		filters  int
		wantDone bool
	}{
		{"Complete", m, true, 4, true},
		{"NoMarker", nil, true, 4, false},
		{"NoCredentials", m, false, 4, false},
		{"FiltersRemovedBehindOurBack", m, true, 0, false},
		{"OldVersion", &Marker{Version: SetupVersion - 1, Filters: 4}, true, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := ElevatedStatus(tt.m, tt.creds, tt.filters)
			if st.Done != tt.wantDone || st.Want != SetupVersion || len(st.Items) != 7 {
				t.Fatalf("%+v", st)
			}
		})
	}
	_ = core.SetupStatus{}
}
