//go:build windows

package windows

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/core"
	xw "golang.org/x/sys/windows"
)

// Escape tests of the unelevated mode, on a real Windows host (the
// windows-latest CI runner). Each case runs cmd.exe in the sandbox and
// checks on disk that the OS refused what the policy forbids. They are the
// answer to the questions the plan marks as unverified.

type escapeEnv struct {
	t       *testing.T
	ws, out string
	sys     *System
	in      *RunInput
}

// newEscapeEnv makes a workspace with .git (holding config) and src. With
// allNames, every other default protected name exists too, so the root is
// fully writable; without, .sbx.toml, .sbx, .codex and .agents are
// missing and the root is frozen.
func newEscapeEnv(t *testing.T, allNames bool) *escapeEnv {
	f, err := detectFacts(context.Background())
	if err != nil {
		t.Skipf("cannot read host facts: %v", err)
	}
	// Not under %TEMP% (and not t.TempDir): TEMP is a writable root.
	cwd, _ := os.Getwd()
	base, err := os.MkdirTemp(cwd, "sbx-escape-")
	if err != nil {
		t.Fatal(err)
	}
	e := &escapeEnv{t: t, ws: filepath.Join(base, "ws"), out: filepath.Join(base, "outside")}
	dirs := []string{e.ws, filepath.Join(e.ws, ".git"), filepath.Join(e.ws, "src"), e.out}
	if allNames {
		dirs = append(dirs, filepath.Join(e.ws, ".sbx"), filepath.Join(e.ws, ".codex"), filepath.Join(e.ws, ".agents"))
		os.MkdirAll(e.ws, 0o755)
		os.WriteFile(filepath.Join(e.ws, ".sbx.toml"), []byte("orig"), 0o644)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(e.ws, ".git", "config"), []byte("orig"), 0o644)
	os.WriteFile(filepath.Join(e.out, "keep.txt"), []byte("orig"), 0o644)
	journal := fileJournal{path: filepath.Join(t.TempDir(), "journal.json")}
	e.sys = localSystem(f)
	e.sys.Journal = journal
	p := core.DefaultPolicy(e.ws)
	p.WritableTmp = false
	p.Network.Mode = core.NetworkAllow
	nonce := NewNonce()
	plan, d, err := BuildPlan(PlanInput{Mode: ModeUnelevated, Policy: p, Nonce: nonce, Backend: NameUnelevated}, f)
	if err != nil {
		t.Fatal(err)
	}
	e.in = &RunInput{Mode: ModeUnelevated, Plan: plan, Detail: d, Facts: f, Nonce: nonce}
	t.Cleanup(func() {
		UndoACEs(winACL{}, journal, nil)
		os.RemoveAll(base)
	})
	return e
}

func (e *escapeEnv) run(cmdline string) (int, string) {
	var out bytes.Buffer
	req := &core.RunRequest{Policy: core.DefaultPolicy(e.ws), Argv: []string{"cmd.exe", "/d", "/c", cmdline},
		Env: os.Environ(), Dir: e.ws, Stdout: &out, Stderr: &out}
	req.Policy.WritableTmp = false
	req.Policy.Network.Mode = core.NetworkAllow
	e.in.Req = req
	res, err := RunUnelevated(context.Background(), e.sys, e.in)
	if err != nil {
		e.t.Fatalf("run %q: %v", cmdline, err)
	}
	return res.ExitCode, out.String()
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// escapeCase is one command and the check that the OS held (refused what
// is forbidden, or allowed what must keep working).
type escapeCase struct {
	name, cmd string
	held      func() bool
}

func (e *escapeEnv) check(t *testing.T, tests []escapeCase) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := e.run(tt.cmd)
			if !tt.held() {
				t.Fatalf("%q: the sandbox did not hold (exit %d): %s", tt.cmd, code, out)
			}
		})
	}
}

// rootDACLNamesWorkspaceSID says the frozen root's DACL still holds sbx's
// ACEs (nobody reset it).
func (e *escapeEnv) rootDACLNamesWorkspaceSID() bool {
	d, err := (winACL{}).GetDACL(e.ws)
	return err == nil && strings.Contains(d, e.in.Detail.SIDs.Workspace)
}

func TestEscape_Unelevated(t *testing.T) {
	e := newEscapeEnv(t, false)
	// The sandbox must work at all, or every refusal below is vacuous: the
	// root is frozen (.sbx.toml & co. are missing), so write inside an
	// existing entry.
	if code, out := e.run(`echo x> src\inside.txt`); code != 0 || !exists(filepath.Join(e.ws, "src", "inside.txt")) {
		t.Fatalf("writing inside the workspace failed (exit %d): %s", code, out)
	}
	everyone := filepath.Join(e.out, "everyone")
	os.MkdirAll(everyone, 0o755)
	if err := (winACL{}).AddACEs(everyone, []ACE{newACE(everyone, Allow, "S-1-1-0", MaskModify, InheritBoth, "test")}); err != nil {
		t.Fatal(err)
	}
	ws := func(p ...string) string { return filepath.Join(append([]string{e.ws}, p...)...) }
	e.check(t, []escapeCase{
		{"WriteOutside", `echo x> ` + e.out + `\new.txt`, func() bool { return !exists(filepath.Join(e.out, "new.txt")) }},
		{"WriteEveryoneWritableDir", `echo x> ` + everyone + `\new.txt`, func() bool { return !exists(filepath.Join(everyone, "new.txt")) }},
		{"DeleteOutside", `del /q ` + e.out + `\keep.txt`, func() bool { return exists(filepath.Join(e.out, "keep.txt")) }},
		{"AppendProtected", `echo x>> .git\config`, func() bool { b, _ := os.ReadFile(ws(".git", "config")); return string(b) == "orig" }},
		{"CaseVariant", `echo x> .GiT\new`, func() bool { return !exists(ws(".git", "new")) }},
		{"AlternateDataStream", `echo x> .git:ads`, func() bool { return !exists(ws(".git") + ":ads") }},
		{"RenameProtected", `ren .git moved`, func() bool { return exists(ws(".git", "config")) }},
		{"RemoveProtected", `rd /s /q .git`, func() bool { return exists(ws(".git", "config")) }},
		{"ResetProtectedDACL", `icacls .git /reset`, func() bool {
			d, err := (winACL{}).GetDACL(ws(".git"))
			return err == nil && strings.Contains(d, e.in.Detail.SIDs.Workspace)
		}},
		// The frozen root: missing protected names cannot be created,
		// by any route, and nothing new appears at the top.
		{"CreateMissingProtectedFile", `echo x> .sbx.toml`, func() bool { return !exists(ws(".sbx.toml")) }},
		{"CreateMissingProtectedDir", `mkdir .codex`, func() bool { return !exists(ws(".codex")) }},
		{"CreateMissingProtectedCaseVariant", `mkdir .AGENTS`, func() bool { return !exists(ws(".agents")) }},
		{"MoveFileUpToMissingName", `move src\inside.txt .sbx.toml`, func() bool { return !exists(ws(".sbx.toml")) }},
		{"RenameTopLevelDirToMissingName", `ren src .sbx`, func() bool { return !exists(ws(".sbx")) && exists(ws("src")) }},
		{"HardLinkMissingName", `mklink /h .sbx.toml src\inside.txt`, func() bool { return !exists(ws(".sbx.toml")) }},
		{"NewTopLevelFileWhileFrozen", `echo x> top.txt`, func() bool { return !exists(ws("top.txt")) }},
		{"NewTopLevelDirWhileFrozen", `mkdir topdir`, func() bool { return !exists(ws("topdir")) }},
		{"ResetFrozenRootDACL", `icacls . /reset`, e.rootDACLNamesWorkspaceSID},
		{"GrantFrozenRootToEveryone", `icacls . /grant *S-1-1-0:(OI)(CI)F`, func() bool {
			d, err := (winACL{}).GetDACL(e.ws)
			return err == nil && !strings.Contains(d, "(A;OICI;FA;;;WD)")
		}},
		// What must keep working below the frozen top.
		{"NewFileInsideExistingDirAllowed", `echo x> src\new.txt`, func() bool { return exists(ws("src", "new.txt")) }},
		{"NewDirInsideExistingDirAllowed", `mkdir src\sub && echo x> src\sub\f.txt`, func() bool { return exists(ws("src", "sub", "f.txt")) }},
		{"RenameInsideExistingDirAllowed", `ren src\new.txt renamed.txt`, func() bool { return exists(ws("src", "renamed.txt")) }},
	})
}

func TestEscape_Unelevated_FullyWritableRootWhenAllNamesExist(t *testing.T) {
	e := newEscapeEnv(t, true)
	ws := func(p ...string) string { return filepath.Join(append([]string{e.ws}, p...)...) }
	e.check(t, []escapeCase{
		{"NewTopLevelFileAllowed", `echo x> top.txt`, func() bool { return exists(ws("top.txt")) }},
		{"NewTopLevelDirAllowed", `mkdir topdir`, func() bool { return exists(ws("topdir")) }},
		{"WriteProtectedFile", `echo x> .sbx.toml`, func() bool { b, _ := os.ReadFile(ws(".sbx.toml")); return string(b) == "orig" }},
		{"ReplaceProtectedFileByRename", `move /y top.txt .sbx.toml`, func() bool { b, _ := os.ReadFile(ws(".sbx.toml")); return string(b) == "orig" }},
		{"DeleteProtectedFile", `del /f /q .sbx.toml`, func() bool { return exists(ws(".sbx.toml")) }},
		{"RenameProtectedDir", `ren .codex other`, func() bool { return exists(ws(".codex")) }},
		{"RemoveProtectedDir", `rd /s /q .agents`, func() bool { return exists(ws(".agents")) }},
		{"WriteInsideProtectedDir", `echo x> .sbx\new`, func() bool { return !exists(ws(".sbx", "new")) }},
	})
}

func TestEscape_Unelevated_JobKillsTreeOnTimeout(t *testing.T) {
	e := newEscapeEnv(t, false)
	e.in.Detail.Job.TimeoutMillis = 2000
	code, _ := e.run(`ping -n 30 127.0.0.1 >NUL`)
	if code != core.TimeoutExitCode {
		t.Fatalf("exit %d, want %d", code, core.TimeoutExitCode)
	}
}

func TestRealAPI_RestrictedTokenCreates(t *testing.T) {
	var api winAPI
	self, err := api.OpenSelf()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close(self)
	tok, err := api.Restrict(self, TokenDisableMaxPrivilege|TokenLUA|TokenWriteRestricted, []string{sidAdministrators}, []string{"S-1-5-21-1-2-3-4000"})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close(tok)
	if r, err := xw.Token(tok).IsRestricted(); err != nil || !r {
		t.Fatalf("token is not restricted (%v)", err)
	}
	if err := api.SetDefaultDACL(tok, "D:(A;;GA;;;SY)"); err != nil {
		t.Fatal(err)
	}
}
