package proc

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/sbxdev/sbx/core"
)

// FromRequest carries every field of a run request a backend hands to proc
// unchanged, and applies the two rules core.RunRequest documents: an empty
// Dir is the workspace, and the environment is core.BuildEnv's.
func TestFromRequest_DirDefaultsToWorkspaceAndEnvFollowsPolicy(t *testing.T) {
	p := core.DefaultPolicy("/ws")
	p.Env = core.EnvPolicy{Inherit: true, Set: map[string]string{"B": "2"}, Unset: []string{"DROP"}}
	p.Limits.Timeout = 3 * time.Second
	var out bytes.Buffer
	started := 0
	req := &core.RunRequest{
		Policy:  p,
		Argv:    []string{"tool", "arg"},
		Env:     []string{"A=1", "DROP=x"},
		Stdout:  &out,
		TTY:     &core.WindowSize{Rows: 24, Cols: 80},
		Started: func(int) { started++ },
	}
	s := FromRequest(req)
	if s.Dir != "/ws" {
		t.Errorf("Dir = %q, want the workspace /ws", s.Dir)
	}
	if want := []string{"A=1", "B=2"}; !slices.Equal(s.Env, want) {
		t.Errorf("Env = %v, want %v", s.Env, want)
	}
	if !slices.Equal(s.Argv, req.Argv) || s.Path != "" || s.Stdout != req.Stdout || s.TTY != req.TTY || s.Timeout != 3*time.Second {
		t.Errorf("FromRequest = %+v, does not carry the request over", s)
	}
	s.Started(1)
	if started != 1 {
		t.Error("Started is not the request's")
	}

	req.Dir = "/ws/sub"
	if s := FromRequest(req); s.Dir != "/ws/sub" {
		t.Errorf("Dir = %q, want the request's /ws/sub", s.Dir)
	}
}
