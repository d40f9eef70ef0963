package windows

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

func fixedNow() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func planACEs(t *testing.T) []ACE {
	_, d := planFor(t, ModeUnelevated, core.DefaultPolicy(`C:\work`), FakeFacts())
	return d.ACEs
}

func TestApplyACEs_JournalsThenAppliesAndIsIdempotent(t *testing.T) {
	f := newFakeOS()
	st := &memStore{}
	aces := planACEs(t)
	n, err := ApplyACEs(f, st, aces, fixedNow)
	if err != nil || n != len(aces) {
		t.Fatalf("added %d of %d: %v", n, len(aces), err)
	}
	j, _ := loadJournal(st)
	if len(j.Entries) != len(aces) {
		t.Fatalf("journal has %d entries, want %d", len(j.Entries), len(aces))
	}
	for _, e := range j.Entries {
		if e.State != JournalApplied || e.Before == "" || !strings.HasPrefix(e.ACE, "(") {
			t.Fatalf("entry %+v", e)
		}
	}
	// Second run: nothing to add, journal unchanged.
	f.calls = nil
	n, err = ApplyACEs(f, st, aces, fixedNow)
	if err != nil || n != 0 {
		t.Fatalf("second run added %d: %v", n, err)
	}
	for _, c := range f.callNames() {
		if c == "SetDACL" {
			t.Fatal("second run changed a DACL")
		}
	}
}

func TestApplyACEs_FailsClosedAndLeavesPendingEntryForUndo(t *testing.T) {
	f := newFakeOS()
	f.fail["SetDACL"] = errors.New("access denied")
	st := &memStore{}
	if _, err := ApplyACEs(f, st, planACEs(t), fixedNow); err == nil {
		t.Fatal("no error")
	}
	j, _ := loadJournal(st)
	if len(j.Entries) == 0 || j.Entries[0].State != JournalPending {
		t.Fatalf("journal %+v: the ACE recorded before the failed call must stay, pending", j.Entries)
	}
}

func TestApplyACEs_OptionalFailureIsSkipped(t *testing.T) {
	f := newFakeOS()
	st := &memStore{}
	aces := []ACE{{Path: `\\.\NUL`, Kind: Allow, SID: "S-1-5-21-1-2-3-4", Mask: 1, Optional: true}}
	f.fail["GetDACL"] = errors.New("not supported")
	if n, err := ApplyACEs(f, st, aces, fixedNow); err != nil || n != 0 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestUndoACEs_RemovesOnlySbxACEsAndEmptiesJournal(t *testing.T) {
	f := newFakeOS()
	st := &memStore{}
	aces := planACEs(t)
	if _, err := ApplyACEs(f, st, aces, fixedNow); err != nil {
		t.Fatal(err)
	}
	// Someone else adds an ACE after sbx did: undo must keep it.
	f.dacl[winKey(`C:\work`)] += "(A;OICI;FR;;;S-1-5-21-5-5-5-500)"
	var out bytes.Buffer
	if err := UndoACEs(f, st, &out); err != nil {
		t.Fatal(err)
	}
	for _, a := range aces {
		if d := f.dacl[winKey(a.Path)]; strings.Contains(d, a.SID) {
			t.Fatalf("%s still names %s: %s", a.Path, a.SID, d)
		}
	}
	if !strings.Contains(f.dacl[winKey(`C:\work`)], "S-1-5-21-5-5-5-500") {
		t.Fatal("undo removed an ACE sbx did not add")
	}
	if j, _ := loadJournal(st); len(j.Entries) != 0 {
		t.Fatalf("journal not emptied: %+v", j.Entries)
	}
	if !strings.Contains(out.String(), "removed") {
		t.Fatalf("progress: %q", out.String())
	}
}

func TestUndoACEs_KeepsJournalWhenSetFails(t *testing.T) {
	f := newFakeOS()
	st := &memStore{}
	ApplyACEs(f, st, planACEs(t), fixedNow)
	f.fail["SetDACL"] = errors.New("access denied")
	if err := UndoACEs(f, st, nil); err == nil {
		t.Fatal("no error")
	}
	if j, _ := loadJournal(st); len(j.Entries) == 0 {
		t.Fatal("journal emptied although undo failed")
	}
}

func TestLoadJournal_RefusesCorruptOrFuture(t *testing.T) {
	for name, b := range map[string]string{"Corrupt": "{", "Future": `{"version":99}`} {
		t.Run(name, func(t *testing.T) {
			if _, err := loadJournal(&memStore{b: []byte(b)}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestRemoveACEs(t *testing.T) {
	tests := []struct {
		name, in, want string
		removed        int
	}{
		{"KeepsOthersDropsInherited", "D:AI(D;OICI;0xd0156;;;S-1-5-21-1-2-3-4)(A;OICI;FA;;;S-1-5-21-1-2-3-4)(A;OICIID;FA;;;SY)(A;;FR;;;BU)",
			"D:AI(A;OICI;FA;;;S-1-5-21-1-2-3-4)(A;;FR;;;BU)", 1},
		{"Protected", "D:P(D;;0x2;;;S-1-5-21-1-2-3-4)", "D:P", 1},
		{"ConditionalACEWithParens", `D:(XA;;FX;;;S-1-1-0;(@User.Title == "PM"))(D;;0x2;;;S-1-5-21-1-2-3-4)`,
			`D:(XA;;FX;;;S-1-1-0;(@User.Title == "PM"))`, 1},
		{"StopsAtSACL", "D:(D;;0x2;;;S-1-5-21-1-2-3-4)S:(AU;SA;FA;;;WD)", "D:", 1},
	}
	drop := map[string]bool{"deny|S-1-5-21-1-2-3-4": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := removeACEs(tt.in, drop)
			if err != nil || got != tt.want || n != tt.removed {
				t.Fatalf("got %q, %d, %v; want %q, %d", got, n, err, tt.want, tt.removed)
			}
		})
	}
	if _, _, err := removeACEs("D:(A;;FA;;;SY", drop); err == nil {
		t.Fatal("unbalanced SDDL accepted")
	}
	if _, _, err := removeACEs("O:SY", drop); err == nil {
		t.Fatal("SDDL without DACL accepted")
	}
}

func TestDaclHas(t *testing.T) {
	a := newACE(`C:\w`, Allow, "S-1-5-21-1-2-3-4", MaskModify, InheritBoth, "")
	if !daclHas("D:(A;OICI;0x1301bf;;;S-1-5-21-1-2-3-4)", a) {
		t.Fatal("exact ACE not found")
	}
	if daclHas("D:(A;OICIID;0x1301bf;;;S-1-5-21-1-2-3-4)", a) {
		t.Fatal("inherited ACE counted as ours")
	}
	if daclHas("D:(A;CI;0x1301bf;;;S-1-5-21-1-2-3-4)", a) {
		t.Fatal("different inheritance counted")
	}
	for in, want := range map[string]uint32{"FA": 0x1f01ff, "FRFX": FileGenericRead | FileGenericExecute,
		"SDRCWDWO": Delete | ReadControl | WriteDAC | WriteOwner, "0x1301bf": MaskModify, "DCLCRPCR": 0x2 | 0x4 | 0x10 | 0x100,
		"ZZ": 0, "F": 0} {
		if got := rightsMask(in); got != want {
			t.Errorf("rightsMask(%q) = %#x, want %#x", in, got, want)
		}
	}
}

func FuzzParseDACL(f *testing.F) {
	f.Add("D:PAI(A;OICI;FA;;;SY)(D;;0x2;;;S-1-5-21-1-2-3-4)")
	f.Add(`D:(XA;;FX;;;S-1-1-0;(@User.Title == "PM"))`)
	f.Add("D:(")
	f.Fuzz(func(t *testing.T, s string) {
		// Must never panic; a result must itself parse.
		out, _, err := removeACEs(s, map[string]bool{"deny|S-1-5-21-1-2-3-4": true})
		if err == nil {
			if _, _, err := parseDACL(out); err != nil {
				t.Fatalf("removeACEs(%q) = %q, which does not parse: %v", s, out, err)
			}
		}
	})
}

type lockFailStore struct{ memStore }

func (s *lockFailStore) Lock() (func(), error) { return nil, errors.New("locked by another sbx") }

func TestApplyACEs_RefusesWithoutTheJournalLock(t *testing.T) {
	f := newFakeOS()
	if _, err := ApplyACEs(f, &lockFailStore{}, planACEs(t), fixedNow); err == nil || len(f.calls) != 0 {
		t.Fatalf("err %v calls %v", err, f.calls)
	}
	if err := UndoACEs(f, &lockFailStore{}, nil); err == nil {
		t.Fatal("undo without the lock")
	}
}

// explicitACEs are the explicit ACEs of a DACL, in order.
func explicitACEs(t *testing.T, sddl string) []string {
	t.Helper()
	_, aces, err := parseDACL(sddl)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range aces {
		if !hasFlag(a.flags, "ID") {
			out = append(out, a.raw)
		}
	}
	return out
}

func TestApplyACEs_RootSwitchesBetweenFrozenAndWritableWithoutStaleACEs(t *testing.T) {
	f := newFakeOS()
	st := &memStore{}
	frozenFacts := FakeFacts() // .sbx.toml & co. missing: C:\work frozen
	writableFacts := allProtectedExist(FakeFacts(), `C:\work`)
	other := "(A;OICI;FR;;;S-1-5-21-5-5-5-500)" // someone else's ACE, kept throughout
	f.dacl[winKey(`C:\work`)] = "D:AI" + other + "(A;OICIID;FA;;;SY)"
	root := func(facts HostFacts) []string {
		_, d := planFor(t, ModeUnelevated, core.DefaultPolicy(`C:\work`), facts)
		if _, err := ApplyACEs(f, st, d.ACEs, fixedNow); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, a := range acesFor(d, `C:\work`) {
			if a.Kind == Deny {
				want = append(want, a.SDDL())
			}
		}
		want = append(want, other)
		for _, a := range acesFor(d, `C:\work`) {
			if a.Kind == Allow {
				want = append(want, a.SDDL())
			}
		}
		if got := explicitACEs(t, f.dacl[winKey(`C:\work`)]); !slices.Equal(got, want) {
			t.Fatalf("root DACL\n got %v\nwant %v (denies first, then the others', then sbx's allows; nothing stale)", got, want)
		}
		return want
	}
	frozen := root(frozenFacts)
	if len(frozen) < 4 {
		t.Fatalf("frozen root has %v", frozen)
	}
	writable := root(writableFacts)
	if len(writable) != 2 {
		t.Fatalf("unfrozen root has %v, want the other ACE and one OICI modify", writable)
	}
	root(frozenFacts)
	// Undo removes every sbx ACE of every state and keeps the other one.
	if err := UndoACEs(f, st, nil); err != nil {
		t.Fatal(err)
	}
	if got := explicitACEs(t, f.dacl[winKey(`C:\work`)]); !slices.Equal(got, []string{other}) {
		t.Fatalf("after undo: %v", got)
	}
}

func TestApplyACEs_FrozenRootTwiceChangesNothing(t *testing.T) {
	f := newFakeOS()
	st := &memStore{}
	aces := planACEs(t) // FakeFacts: the root is frozen
	if _, err := ApplyACEs(f, st, aces, fixedNow); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	if n, err := ApplyACEs(f, st, aces, fixedNow); err != nil || n != 0 {
		t.Fatalf("second run added %d: %v", n, err)
	}
	if slices.Contains(f.callNames(), "SetDACL") {
		t.Fatal("second run rewrote a DACL: the inherit-only or deny ACE was not recognised as present")
	}
}

func TestComposeDACL(t *testing.T) {
	sid := "S-1-5-21-1-2-3-4"
	add := []ACE{
		newACE(`C:\w`, Allow, sid, MaskFrozenDir, InheritNone, ""),
		newACE(`C:\w`, Deny, sid, MaskDenyWrite, InheritNone, ""),
	}
	got, err := composeDACL("D:PAI(A;;FA;;;BA)(A;OICI;0x1301bf;;;"+sid+")(A;OICIID;FA;;;SY)", map[string]bool{"(A;OICI;0x1301bf;;;" + sid + ")": true}, add)
	want := "D:PAI(D;;0xd0156;;;" + sid + ")(A;;FA;;;BA)(A;;0x1200a9;;;" + sid + ")"
	if err != nil || got != want {
		t.Fatalf("composeDACL = %q, %v; want %q", got, err, want)
	}
	if _, err := composeDACL("D:NO_ACCESS_CONTROL", nil, add); err == nil {
		t.Fatal("a NULL DACL was extended: everyone else would lose access")
	}
}

func TestInheritFlags_ReadsTwoLetterTokens(t *testing.T) {
	for flags, want := range map[string]uint32{"OICIIO": InheritBelow, "OICIID": InheritBoth, "CIOI": InheritBoth, "": 0, "IOID": InheritOnly} {
		if got := inheritFlags(flags); got != want {
			t.Errorf("inheritFlags(%q) = %#x, want %#x", flags, got, want)
		}
	}
}
