package linux

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// landlockKind is the kind of a linux-landlock helper start from helper.
func landlockKind(helper string) spareKind {
	return kindOf(&Plan{Mode: ModeLandlock}, helper)
}

func TestSparePool_ARunWaitsForTheSpareUnderWay(t *testing.T) {
	p := newSparePool()
	p.always.Store(true)
	p.wait = time.Minute // the start itself is not what is measured here
	defer p.close()
	k := landlockKind(probeOnce().Helper)
	p.refillSoon(k) // starts after spareDelay, in the background
	sp := p.take(k)
	if sp == nil {
		t.Fatal("take returned no spare while one was starting: the run would start a second helper")
	}
	defer sp.Close()
	if p.taken.Load() != 1 {
		t.Errorf("taken = %d, want 1", p.taken.Load())
	}
	if again := p.take(k); again != nil {
		again.Close()
		t.Error("a spare was handed out twice")
	}
}

func TestSparePool_AFailedStartIsNotRetriedAtOnce(t *testing.T) {
	p := newSparePool()
	p.always.Store(true)
	p.inline = true
	k := landlockKind(filepath.Join(t.TempDir(), "missing-helper"))
	p.refillSoon(k)
	if sp := p.take(k); sp != nil {
		sp.Close()
		t.Fatal("a spare of a missing helper was handed out")
	}
	p.mu.Lock()
	_, failed := p.failed[k.key]
	p.mu.Unlock()
	if !failed {
		t.Fatal("the failed start was not recorded")
	}
	p.refillSoon(k) // within spareRetry: nothing is started
	p.mu.Lock()
	n := len(p.starting) + len(p.ready)
	p.mu.Unlock()
	if n != 0 {
		t.Errorf("a failed kind was started again at once")
	}
}

func TestSparePool_KeepsNothingOutsideAgents(t *testing.T) {
	p := newSparePool() // not an agent, KeepSpares not called
	p.inline = true
	k := landlockKind(probeOnce().Helper)
	p.refillSoon(k)
	if sp := p.take(k); sp != nil {
		sp.Close()
		t.Error("a plugin serving one command started a spare")
	}
}

func TestSparePool_ASpareOfAReplacedHelperIsDiscarded(t *testing.T) {
	helper := filepath.Join(t.TempDir(), "helper")
	install := func() {
		b, err := os.ReadFile(probeOnce().Helper)
		must(t, err)
		tmp := helper + ".new"
		must(t, os.WriteFile(tmp, b, 0o755))
		must(t, os.Rename(tmp, helper)) // a new build: another inode
	}
	install()
	p := newSparePool()
	p.always.Store(true)
	p.inline = true
	defer p.close()
	k := landlockKind(helper)
	p.refillSoon(k)
	p.mu.Lock()
	old := p.ready[k.key]
	p.mu.Unlock()
	if old == nil {
		t.Fatal("no spare started")
	}
	install()
	if sp := p.take(k); sp != nil {
		sp.Close()
		t.Fatal("a spare of the replaced helper was handed out")
	}
	if err := unix.Kill(old.sp.Pid(), 0); err != unix.ESRCH {
		t.Errorf("the stale spare %d is still there: %v", old.sp.Pid(), err)
	}
}
