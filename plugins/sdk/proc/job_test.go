package proc

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sbxdev/sbx/core"
)

// fakeJobOS records the calls of the job launch and fails the one named.
type fakeJobOS struct {
	calls []string
	fail  string
}

func (f *fakeJobOS) do(call string) error {
	f.calls = append(f.calls, call)
	if call == f.fail {
		return errors.New(call + " failed")
	}
	return nil
}

func (f *fakeJobOS) createJob() (uintptr, error) { return 7, f.do("create") }
func (f *fakeJobOS) assign(uintptr, int) error   { return f.do("assign") }
func (f *fakeJobOS) resume(int) error            { return f.do("resume") }
func (f *fakeJobOS) kill(int) error              { return f.do("kill") }

func TestContain_ResumesOnlyOnceInTheJobAndKillsOnFailure(t *testing.T) {
	for _, c := range []struct {
		fail  string
		calls []string
	}{
		{"", []string{"create", "assign", "resume"}},
		{"create", []string{"create", "kill"}},
		{"assign", []string{"create", "assign", "kill"}},
		{"resume", []string{"create", "assign", "resume", "kill"}},
	} {
		f := &fakeJobOS{fail: c.fail}
		job, err := contain(f, 42, "cmd")
		if !reflect.DeepEqual(f.calls, c.calls) {
			t.Errorf("fail %q: calls %v, want %v", c.fail, f.calls, c.calls)
		}
		if (err != nil) != (c.fail != "") || (err != nil && !errors.Is(err, core.ErrUnsupported)) {
			t.Errorf("fail %q: err %v", c.fail, err)
		}
		if c.fail == "" && job != 7 {
			t.Errorf("job %d, want the created one", job)
		}
	}
}
