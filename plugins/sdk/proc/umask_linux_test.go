package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// A plugin agent serves callers whose masks differ from its own: each
// command must start with its caller's mask, whatever runs beside it, and
// the agent's own mask must not move.
func TestRun_UmaskIsTheCallersAndLeavesThisProcessAlone(t *testing.T) {
	before, err := processUmask()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		mask := []uint32{0o077, 0o002, 0o027, before}[i%4]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			f := filepath.Join(dir, fmt.Sprint(i))
			s := sh(`umask; : > "$0"`)
			s.Argv = append(s.Argv, f)
			s.Umask, s.Stdout = &mask, &out
			if _, err := Run(context.Background(), s); err != nil {
				errs <- err
				return
			}
			if got, want := out.String(), fmt.Sprintf("%04o\n", mask); got != want {
				errs <- fmt.Errorf("run %d: umask printed %q, want %q", i, got, want)
			}
			fi, err := os.Stat(f)
			if err != nil {
				errs <- err
				return
			}
			if got, want := fi.Mode().Perm(), os.FileMode(0o666&^mask); got != want {
				errs <- fmt.Errorf("run %d: file created with %v, want %v", i, got, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// This process's own mask, read the way that does not set it.
	if after, err := readUmask(); err != nil || after != before {
		t.Errorf("this process's umask is %04o (%v) after the runs, want %04o", after, err, before)
	}
	// And a file this process creates now gets its own mask.
	f := filepath.Join(dir, "own")
	if err := os.WriteFile(f, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f); fi.Mode().Perm() != os.FileMode(0o666&^before) {
		t.Errorf("a file of this process got %v, want %v", fi.Mode().Perm(), os.FileMode(0o666&^before))
	}
}

func TestRun_UmaskWithBitsBeyond0777IsRefused(t *testing.T) {
	bad := uint32(0o1777)
	s := sh("true")
	s.Umask = &bad
	if _, err := Run(context.Background(), s); err == nil {
		t.Fatal("a umask of 01777 was accepted")
	}
}
