package proc

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// helperEnv switches the test binary into a helper program (as go-landlock's
// lltest does): the tests re-exec themselves with SBX_PROC_HELPER=mode and
// arguments, instead of relying on shell quirks.
const helperEnv = "SBX_PROC_HELPER"

func TestMain(m *testing.M) {
	if len(os.Args) > 0 && argv0Helpers[os.Args[0]] != nil {
		os.Exit(argv0Helpers[os.Args[0]](os.Args[1:]))
	}
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	if err := BecomeSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "BecomeSubreaper:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// argv0Helpers are helpers chosen by argv[0] instead of the environment
// (a spare starts with an empty one), defined in OS-specific test files.
var argv0Helpers = map[string]func(args []string) int{}

// extraHelpers are helper modes defined in OS-specific test files.
var extraHelpers = map[string]func(args []string) int{}

// helper runs one helper mode and returns its exit code.
//
//	exit N          exit with code N
//	blobs N A B     write N random bytes seeded A to stdout and seeded B to
//	                stderr, at the same time
//	daemon F MARK   write the pid to F, ignore SIGTERM/INT/HUP, sleep forever
//	cat             copy stdin to stdout
func helper(mode string, args []string) int {
	switch mode {
	case "exit":
		n, _ := strconv.Atoi(args[0])
		return n
	case "blobs":
		n, _ := strconv.Atoi(args[0])
		a, _ := strconv.ParseInt(args[1], 10, 64)
		b, _ := strconv.ParseInt(args[2], 10, 64)
		var wg sync.WaitGroup
		for _, x := range []struct {
			f    *os.File
			seed int64
		}{{os.Stdout, a}, {os.Stderr, b}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := bufio.NewWriterSize(x.f, 64<<10)
				_, _ = io.CopyN(w, blob(x.seed), int64(n))
				_ = w.Flush()
			}()
		}
		wg.Wait()
		return 0
	case "daemon":
		// A stubborn process: it ignores the polite signals, says it is
		// there through a pid file, and waits forever. args[1] is a
		// marker that makes it findable in /proc/*/cmdline.
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		tmp := args[0] + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return 3
		}
		if err := os.Rename(tmp, args[0]); err != nil {
			return 3
		}
		for {
			time.Sleep(time.Hour)
		}
	case "cat":
		_, _ = io.Copy(os.Stdout, os.Stdin)
		return 0
	}
	if h, ok := extraHelpers[mode]; ok {
		return h(args)
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

// blob is a deterministic stream of random bytes.
func blob(seed int64) io.Reader { return rand.New(rand.NewSource(seed)) }

// helperSpec returns a Spec that re-execs the test binary in a helper mode.
func helperSpec(t *testing.T, mode string, args ...string) Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{
		Path: exe,
		Argv: append([]string{"proc-helper"}, args...),
		Env:  []string{helperEnv + "=" + mode},
	}
}
