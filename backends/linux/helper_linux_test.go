//go:build linux

package linux

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sbxdev/sbx/backends/linux/sandbox"
	"github.com/sbxdev/sbx/core"
)

func TestHelper_DedicatedNextToThePluginElseReexec(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "sbx-backend-linux")
	helper := filepath.Join(dir, HelperName)
	if p, dedicated, note := helperNear(self); p != self || dedicated || !strings.Contains(note, "not installed") {
		t.Errorf("missing helper: %q %v %q", p, dedicated, note)
	}
	must(t, os.WriteFile(helper, []byte("x"), 0o644))
	if p, dedicated, note := helperNear(self); p != self || dedicated || !strings.Contains(note, "not an executable") {
		t.Errorf("non-executable helper: %q %v %q", p, dedicated, note)
	}
	must(t, os.Chmod(helper, 0o755))
	if p, dedicated, note := helperNear(self); p != helper || !dedicated || !strings.Contains(note, "dedicated") {
		t.Errorf("installed helper: %q %v %q", p, dedicated, note)
	}
	if strings.HasPrefix(HelperName, "sbx-backend-") {
		t.Errorf("%s would be taken for a plugin", HelperName)
	}
}

// TestHelper_RefusesAnotherConfigVersion: a helper from another build
// fails with a message that says what to do, and runs nothing: a
// configuration of another version, or the JSON an older plugin sent.
func TestHelper_RefusesAnotherConfigVersion(t *testing.T) {
	other, _ := (&sandbox.Config{Version: sandbox.Version + 1, Path: "/bin/true", Argv: []string{"true"}, Dir: "/"}).MarshalBinary()
	old, _ := json.Marshal(sandbox.Config{Version: 2, Path: "/bin/true", Argv: []string{"true"}, Dir: "/"})
	for name, b := range map[string][]byte{"other version": other, "older JSON": old} {
		t.Run(name, func(t *testing.T) { refusedConfig(t, b) })
	}
}

// refusedConfig starts this test binary as the Landlock-mode helper with
// configuration b and checks that it refuses it as from another build.
func refusedConfig(t *testing.T, b []byte) {
	self, err := os.Executable()
	must(t, err)
	cfgR, cfgW, err := os.Pipe()
	must(t, err)
	stR, stW, err := os.Pipe()
	must(t, err)
	cmd := &exec.Cmd{Path: self, Args: []string{sandbox.RoleExec}, ExtraFiles: []*os.File{cfgR, stW}}
	must(t, cmd.Start())
	cfgR.Close()
	stW.Close()
	_, _ = cfgW.Write(b)
	cfgW.Close()
	err = cmd.Wait()
	st := readStatus(stR)
	if err == nil || !strings.Contains(st.Error, "same build") {
		t.Fatalf("exit %v, status %+v", err, st)
	}
}

// buildHelper builds cmd/sbx-linux-sandbox from this source tree, or
// skips when the tree or the go command is not available (a test binary
// run elsewhere).
func buildHelper(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "cmd", "sbx-linux-sandbox", "main.go")); err != nil {
		t.Skip("source tree not found (test binary run outside it): " + err.Error())
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not available to build sbx-linux-sandbox: " + err.Error())
	}
	dir, err := os.MkdirTemp("/var/tmp", "sbx-linux-helper-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	out := filepath.Join(dir, HelperName)
	cmd := exec.Command(goCmd, "build", "-o", out, "./cmd/sbx-linux-sandbox")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build sbx-linux-sandbox here: %v: %s", err, b)
	}
	return out
}

// TestHelper_DedicatedBinaryConfinesBothModes runs the escape basics through
// the real sbx-linux-sandbox binary instead of a re-exec of this test.
func TestHelper_DedicatedBinaryConfinesBothModes(t *testing.T) {
	helper := buildHelper(t)
	bothModes(t, func(t *testing.T, s *testbox) {
		f := probeOnce()
		f.Helper = helper
		b, err := New(s.b.name, f)
		must(t, err)
		s.b = b
		s.allowed(s.policy(), "write", s.ws+"/src/new")
		s.refused(s.policy(), "write", s.out+"/victim")
		s.refused(s.policy(), "write", s.ws+"/.git/config")
		var out bytes.Buffer
		res, err := b.Run(context.Background(), &core.RunRequest{Policy: s.policy(), Argv: []string{"sh", "-c", "exit 7"}, Env: os.Environ(), Stdout: &out, Stderr: &out})
		if err != nil || res.ExitCode != 7 {
			t.Errorf("exit status through the helper: %v %+v %s", err, res, out.String())
		}
		// Control: the run really starts Facts.Helper.
		f.Helper = filepath.Join(filepath.Dir(helper), "missing")
		b, _ = New(s.b.name, f)
		if _, err := b.Run(context.Background(), &core.RunRequest{Policy: s.policy(), Argv: []string{"true"}, Env: os.Environ()}); err == nil {
			t.Errorf("a run with a missing helper succeeded: the helper path is not used")
		}
	})
}
