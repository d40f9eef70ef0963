//go:build unix

package proc

import (
	"os/exec"
	"syscall"
	"testing"
)

// The fast "nothing left" path trusts a list of this process's children
// only while every child on it still exists: the kernel may skip an entry
// when one it already listed is reaped during the read, so a child that is
// gone by the time the list is checked sends Run to the full process-table
// scan instead (fail closed). A live child in a session of its own that is
// no run's main process is a possible orphan of a run; a run's main process
// is not.
func TestNoOrphanIn_ListedChildGoneOrPossibleOrphanMeansLook(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	pid := cmd.Process.Pid
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()

	if !noOrphanIn(nil) {
		t.Error("no children: noOrphanIn = false, want true")
	}
	if noOrphanIn([]int{pid}) {
		t.Error("a live child in its own session, not a run's: noOrphanIn = true, want false (a possible orphan)")
	}

	registry.Lock()
	registry.mains[pid] = true
	registry.Unlock()
	defer func() {
		registry.Lock()
		delete(registry.mains, pid)
		registry.Unlock()
	}()
	if !noOrphanIn([]int{pid}) {
		t.Error("a run's live main process: noOrphanIn = false, want true")
	}

	_ = cmd.Process.Kill()
	_ = cmd.Wait() // reaped: the pid is no longer anyone's
	if noOrphanIn([]int{pid}) {
		t.Error("a listed child reaped since: noOrphanIn = true, want false (the list may have skipped one)")
	}
}
