package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"
)

// Arguments of the probe program other than a config.
const (
	// ArgNoop makes the program exit 0 at once: the harness times a run of
	// it as the backend's startup cost.
	ArgNoop = "--noop"
	// ArgSleep makes the program sleep until killed: the harness's process
	// to signal, and the ptrace probe's child.
	ArgSleep = "--sleep"
	// argDetached1 and argDetached2 are the two re-executed stages of the
	// detached-grandchild probe.
	argDetached1 = "--detached-stage1"
	argDetached2 = "--detached-stage2"
)

// Main is the probe program (cmd/sbx-probe): with a JSON [Config] as its
// only argument it runs every probe for this OS and writes one JSON
// [Result] per line to stdout. It returns the exit status: 0 when the
// probes ran (whatever they found), 2 for bad arguments.
func Main(args []string, stdout io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: sbx-probe CONFIG_JSON | --noop | --sleep\n"+
			"sbx-probe is run inside a sandbox by `sbx compare` and the conformance kit; it tries to cross\n"+
			"each boundary of the policy and prints one JSON line per probe.")
		return 2
	}
	switch args[0] {
	case ArgNoop:
		return 0
	case ArgSleep:
		for {
			time.Sleep(time.Hour)
		}
	case argDetached1:
		return detachedStage1(args[1:])
	case argDetached2:
		return detachedStage2(args[1:])
	}
	// Should a terminal the probes open become the controlling terminal,
	// closing it must not hang the program up.
	signal.Ignore(syscall.SIGHUP)
	var c Config
	if err := json.Unmarshal([]byte(args[0]), &c); err != nil {
		fmt.Fprintf(os.Stderr, "sbx-probe: the argument is not a probe config (JSON): %v\n", err)
		return 2
	}
	enc := json.NewEncoder(stdout)
	for _, r := range RunAll(&c) {
		_ = enc.Encode(r)
	}
	return 0
}

// RunAll runs every probe that applies to this OS (or those in c.Only)
// and returns their results, in the order of [Probes].
func RunAll(c *Config) []Result {
	var out []Result
	for _, pr := range Probes {
		if len(c.Only) > 0 && !slices.Contains(c.Only, pr.Name) {
			continue
		}
		if !pr.RunsOn(runtime.GOOS) {
			out = append(out, Result{Probe: pr.Name, Outcome: OutcomeSkipped, Detail: "not a probe for " + runtime.GOOS})
			continue
		}
		r := attempt(pr.Name, c)
		r.Probe = pr.Name
		out = append(out, r)
	}
	return out
}

// attempt runs one probe.
func attempt(name string, c *Config) Result {
	switch name {
	case WriteWorkspace:
		return writeProbe(filepath.Join(c.Workspace, WorkspaceSubdir), "", "probe-write-"+c.Nonce)
	case WriteOutside:
		return writeProbe(c.Outside, "no directory outside the writable roots was found", "probe-write")
	case WriteProtected:
		return writeProbe(c.ProtectedExisting, "the policy protects no name", "probe-write")
	case CreateProtected:
		return createProtected(c)
	case WriteSymlinkOut:
		return writeProbe(c.SymlinkOut, "no outside directory to link to", "probe-write-via-symlink")
	case WriteHardlinkOut:
		return hardlinkProbe(c)
	case WriteDetached:
		return detachedProbe(c)
	case ReadOutside:
		return readProbe(c)
	case TCP4Loopback:
		return tcpProbe(c.TCP4, c.Nonce)
	case TCP6Loopback:
		return tcpProbe(c.TCP6, c.Nonce)
	case UDP4Loopback:
		return udpProbe(c.UDP4, c.Nonce)
	case UDP6Loopback:
		return udpProbe(c.UDP6, c.Nonce)
	case HTTPDirect:
		return httpProbe(c, false)
	case HTTPProxyEnv:
		return httpProbe(c, true)
	case DNSQuery:
		return dnsProbe(c)
	case TIOCSTI:
		return tiocstiProbe(c)
	case ReadTerminal:
		return readTerminalProbe(c)
	case Ptrace:
		return ptraceProbe(c)
	case SignalOutside:
		return signalProbe(c.SignalPid)
	case Netlink:
		return netlinkProbe()
	case RawSocket:
		return rawSocketProbe()
	}
	return Result{Outcome: OutcomeError, Detail: "unknown probe"}
}

func skipped(why string) Result { return Result{Outcome: OutcomeSkipped, Detail: why} }

func allowed(detail string) Result { return Result{Outcome: OutcomeAllowed, Detail: detail} }

// blocked turns the error the OS gave into a blocked result naming the
// errno.
func blocked(err error) Result { return Result{Outcome: OutcomeBlocked, Detail: describe(err)} }

// blockedAt is blocked with the step that was refused.
func blockedAt(step string, err error) Result {
	return Result{Outcome: OutcomeBlocked, Detail: step + ": " + describe(err)}
}

func failed(format string, args ...any) Result {
	return Result{Outcome: OutcomeError, Detail: fmt.Sprintf(format, args...)}
}

// describe names the errno inside err ("EACCES: permission denied"), or
// gives the error's text.
func describe(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := errnoName(errno); name != "" {
			return name + ": " + errno.Error()
		}
		return errno.Error()
	}
	return err.Error()
}
