package windows

import (
	"slices"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
)

// allProtectedExist returns f with every default protected name present
// in root (.sbx.toml a file, the others directories).
func allProtectedExist(f HostFacts, root string) HostFacts {
	fs := MapFS{}
	for k, v := range f.FS.(MapFS) {
		fs[k] = v
	}
	fs[root] = nil
	for _, n := range core.DefaultPolicy(root).Protected {
		if _, ok := fs[winJoin(root, n)]; ok {
			continue
		}
		if n == ".sbx.toml" {
			fs[winJoin(root, n)] = []byte("")
		} else {
			fs[winJoin(root, n)] = nil
		}
	}
	f.FS = fs
	return f
}

// denySIDsOf are the SIDs the plan denies on protected paths.
func denySIDsOf(m Mode, d *Detail, f HostFacts) []string {
	out := []string{d.SIDs.Workspace, d.SIDs.Base}
	if m == ModeElevated {
		out = append(out, f.Setup.GroupSID)
	}
	return out
}

func TestMasks_FreezeMasksAreExact(t *testing.T) {
	tests := []struct {
		name string
		got  uint32
		want uint32
	}{
		// icacls M: read, write, execute, DELETE; no DELETE_CHILD.
		{"MaskModify", MaskModify, 0x1301bf},
		// icacls RX: list, read EA/attributes, traverse, READ_CONTROL,
		// SYNCHRONIZE.
		{"MaskFrozenDir", MaskFrozenDir, 0x1200a9},
		// ADD_FILE|ADD_SUBDIRECTORY|WRITE_EA|DELETE_CHILD|
		// WRITE_ATTRIBUTES|DELETE|WRITE_DAC|WRITE_OWNER.
		{"MaskDenyWrite", MaskDenyWrite, 0xd0156},
		{"MaskDenyMove", MaskDenyMove, 0xd0000},
		{"InheritBelow", InheritBelow, 0xb},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
	for _, bit := range []uint32{FileWriteData, FileAppendData, FileDeleteChild, Delete, WriteDAC, WriteOwner, FileWriteAttributes, FileWriteEA} {
		if MaskFrozenDir&bit != 0 {
			t.Errorf("a frozen directory grants %s", MaskString(bit))
		}
	}
}

func TestPlan_RootIsFrozenWhileAProtectedNameIsMissing(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := m.facts() // C:\work\.git exists, the other names do not
			plan, d := planFor(t, m.mode, core.DefaultPolicy(`C:\work`), f)
			grantees := []string{d.SIDs.Workspace}
			if m.mode == ModeElevated {
				grantees = []string{f.Setup.GroupSID, d.SIDs.Workspace}
			}
			var want []string
			for _, sid := range grantees {
				want = append(want, "(A;;0x1200a9;;;"+sid+")", "(A;OICIIO;0x1301bf;;;"+sid+")")
			}
			for _, sid := range denySIDsOf(m.mode, d, f) {
				want = append(want, "(D;;0xd0156;;;"+sid+")")
			}
			var got []string
			for _, a := range acesFor(d, `C:\work`) {
				got = append(got, a.SDDL())
				if !a.Replace {
					t.Errorf("root ACE %s does not replace sbx's earlier ones", a.SDDL())
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("root ACEs\n got %v\nwant %v", got, want)
			}
			e := element(t, plan.Report, core.BoundaryWrite, `C:\work`)
			if e.Strength != core.Enforced || !strings.Contains(e.Note, "cannot be created directly at the top") ||
				!strings.Contains(e.Note, ".sbx.toml") || strings.Contains(e.Note, ".git,") || !strings.Contains(e.Note, "--protect") {
				t.Fatalf("writable root = %s", e.Summary())
			}
			for _, name := range []string{".sbx.toml", ".sbx", ".codex", ".agents", ".git"} {
				if e := element(t, plan.Report, core.BoundaryWrite, name); e.Strength != core.Enforced {
					t.Fatalf("%s = %s", name, e.Summary())
				}
			}
			// The existing .git keeps its deny ACE.
			if len(acesFor(d, `C:\work\.git`)) != len(denySIDsOf(m.mode, d, f)) {
				t.Fatalf(".git ACEs %+v", acesFor(d, `C:\work\.git`))
			}
		})
	}
}

func TestPlan_RootIsFullyWritableWhenEveryProtectedNameExists(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := allProtectedExist(m.facts(), `C:\work`)
			plan, d := planFor(t, m.mode, core.DefaultPolicy(`C:\work`), f)
			for _, a := range acesFor(d, `C:\work`) {
				if a.Kind != Allow || a.SDDL() != "(A;OICI;0x1301bf;;;"+a.SID+")" {
					t.Fatalf("root ACE %s on a root that needs no freeze", a.SDDL())
				}
			}
			if e := element(t, plan.Report, core.BoundaryWrite, `C:\work`); e.Note != "" {
				t.Fatalf("writable root = %s", e.Summary())
			}
			for _, n := range core.DefaultPolicy(`C:\work`).Protected {
				aces := acesFor(d, winJoin(`C:\work`, n))
				if len(aces) != len(denySIDsOf(m.mode, d, f)) {
					t.Fatalf("%s: %+v", n, aces)
				}
				for _, a := range aces {
					if a.Kind != Deny || a.Mask != MaskDenyWrite {
						t.Fatalf("%s: %s", n, a.SDDL())
					}
				}
			}
		})
	}
}

func TestPlan_DeeperProtectedPathsAreHeldAlongTheirPath(t *testing.T) {
	type wantACE struct {
		path string
		mask uint32
	}
	tests := []struct {
		name       string
		gitdir     string
		fs         MapFS // beyond every default name in C:\work
		wantFrozen bool
		want       []wantACE // freeze denies (besides the gitdir's own)
	}{
		{
			name:   "ExistingGitdirItsParentsCannotMove",
			gitdir: `C:\work\a\b\gd`,
			fs:     MapFS{`C:\work\a`: nil, `C:\work\a\b`: nil, `C:\work\a\b\gd`: nil},
			want:   []wantACE{{`C:\work\a`, MaskDenyMove}, {`C:\work\a\b`, MaskDenyMove}},
		},
		{
			name:   "MissingGitdirItsParentIsFrozen",
			gitdir: `C:\work\a\b\gd`,
			fs:     MapFS{`C:\work\a`: nil, `C:\work\a\b`: nil},
			want:   []wantACE{{`C:\work\a`, MaskDenyMove}, {`C:\work\a\b`, MaskDenyWrite}},
		},
		{
			name:       "MissingGitdirBelowMissingDirFreezesTheRoot",
			gitdir:     `C:\work\x\gd`,
			fs:         MapFS{},
			wantFrozen: true,
		},
		{
			name:   "MissingGitdirBelowAFileHoldsTheFile",
			gitdir: `C:\work\f\gd`,
			fs:     MapFS{`C:\work\f`: []byte("x")},
			want:   []wantACE{{`C:\work\f`, MaskDenyMove}},
		},
		{
			name:   "GitdirBelowAnExistingProtectedPathNeedsNothingMore",
			gitdir: `C:\work\.git\worktrees\w`,
			fs:     MapFS{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := allProtectedExist(FakeFacts(), `C:\work`)
			fs := f.FS.(MapFS)
			fs[`C:\work\.git`] = []byte("gitdir: " + tt.gitdir + "\n")
			for k, v := range tt.fs {
				fs[k] = v
			}
			plan, d := planFor(t, ModeUnelevated, core.DefaultPolicy(`C:\work`), f)
			var got []wantACE
			for _, a := range d.ACEs {
				if a.Kind == Deny && a.SID == d.SIDs.Workspace && a.Inherit == InheritNone && !strings.HasPrefix(a.Why, "protected ") && !winEqual(a.Path, `C:\work`) {
					got = append(got, wantACE{a.Path, a.Mask})
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("freeze denies %+v, want %+v", got, tt.want)
			}
			frozen := len(frozenBy(`C:\work`, d)) > 0
			if frozen != tt.wantFrozen {
				t.Fatalf("root frozen = %v, want %v", frozen, tt.wantFrozen)
			}
			if e := element(t, plan.Report, core.BoundaryWrite, ".git"); e.Strength != core.Enforced {
				t.Fatalf(".git = %s", e.Summary())
			}
		})
	}
}

func TestPlan_NestedWritableRootCannotBeMovedAway(t *testing.T) {
	f := allProtectedExist(allProtectedExist(FakeFacts(), `C:\work`), `C:\work\sub`)
	p := core.DefaultPolicy(`C:\work`)
	p.WritableRoots = []string{`C:\work\sub`}
	_, d := planFor(t, ModeUnelevated, p, f)
	var masks []uint32
	for _, a := range acesFor(d, `C:\work\sub`) {
		if a.Kind == Deny && a.SID == d.SIDs.Workspace {
			masks = append(masks, a.Mask)
		}
	}
	if !slices.Equal(masks, []uint32{MaskDenyMove}) {
		t.Fatalf("denies on the nested root: %v (renaming it away would take its .git along and let a new one be made)", masks)
	}
}

func TestPlan_MissingNameOnlyInTempStaysAbsent(t *testing.T) {
	f := allProtectedExist(FakeFacts(), `C:\work`)
	gitdir := f.TempDir + `\repo\.git`
	f.FS.(MapFS)[`C:\work\.git`] = []byte("gitdir: " + gitdir)
	plan, _ := planFor(t, ModeUnelevated, core.DefaultPolicy(`C:\work`), f)
	if e := element(t, plan.Report, core.BoundaryWrite, ".git"); e.Strength != core.Absent || !strings.Contains(e.Note, "temporary directory") {
		t.Fatalf(".git = %s", e.Summary())
	}
}

func TestPlan_WorkspaceInsideTempCannotBeMovedAwayAndRebuilt(t *testing.T) {
	for _, all := range []bool{false, true} {
		f := FakeFacts()
		ws := f.TempDir + `\proj\ws`
		f.FS = MapFS{f.TempDir: nil, f.TempDir + `\proj`: nil, ws: nil, ws + `\.git`: nil}
		if all {
			f = allProtectedExist(f, ws)
		}
		_, d := planFor(t, ModeUnelevated, core.DefaultPolicy(ws), f)
		denies := map[string]uint32{}
		for _, a := range d.ACEs {
			if a.Kind == Deny && a.SID == d.SIDs.Base && a.Inherit == InheritNone {
				denies[winKey(a.Path)] = a.Mask
			}
		}
		wantRoot := MaskDenyMove
		if !all {
			wantRoot = MaskDenyWrite // frozen
		}
		if denies[winKey(f.TempDir+`\proj`)] != MaskDenyMove || denies[winKey(ws)] != wantRoot {
			t.Fatalf("all names exist=%v: base-SID denies %v; %s\\proj must not be renamable (the base SID may add to TEMP) and the root must deny %#x", all, denies, f.TempDir, wantRoot)
		}
		if _, ok := denies[winKey(f.TempDir)]; ok {
			t.Fatal("TEMP itself got a deny ACE")
		}
	}
}
