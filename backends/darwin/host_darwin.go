//go:build darwin

package darwin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
)

// localHost returns the facts of this Mac: /tmp and $TMPDIR (of the plugin
// process, that is of sbx: never the command's environment, which the
// policy can change), the kernel's names for paths, the home directory and
// the user.
func localHost() (Host, error) {
	home, _ := os.UserHomeDir()
	tmps := []string{"/tmp"}
	if t := os.Getenv("TMPDIR"); strings.HasPrefix(t, "/") {
		tmps = append(tmps, t)
	}
	return Host{TempDirs: tmps, Resolve: resolveDarwin, Home: home, UID: os.Getuid()}, nil
}

// resolveDarwin resolves path the way Seatbelt will see it: symbolic links
// resolved as far as the path exists, then the letter case the volume
// stores (see canonicalCase).
func resolveDarwin(path string) (string, error) {
	return resolveExisting(path, func(p string) (string, error) {
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			return "", err
		}
		return canonicalCase(r), nil
	})
}

// canonicalCase returns the kernel's name of an existing path (F_GETPATH):
// on a case-insensitive volume "/Users/Me/WS" is stored as "/Users/me/ws",
// and Seatbelt matches the stored name. The answer is taken only when it
// differs from path by letter case alone; anything else (a firmlink shown
// another way, an error) keeps path.
func canonicalCase(path string) string {
	// O_EVTONLY opens without needing read permission and without
	// blocking on a FIFO; O_NOFOLLOW refuses a symlink swapped in since
	// EvalSymlinks.
	fd, err := unix.Open(path, unix.O_EVTONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return path
	}
	defer unix.Close(fd)
	var buf [unix.PathMax]byte
	// F_GETPATH fills a MAXPATHLEN buffer. x/sys/unix has no typed
	// wrapper for it; FcntlFstore is the one that passes a pointer.
	if err := unix.FcntlFstore(uintptr(fd), unix.F_GETPATH, (*unix.Fstore_t)(unsafe.Pointer(&buf[0]))); err != nil {
		return path
	}
	n := bytes.IndexByte(buf[:], 0)
	if n < 0 {
		return path
	}
	got := string(buf[:n])
	if got != path && strings.EqualFold(got, path) {
		return got
	}
	return path
}

// probeResult caches the availability probe: whether sandbox-exec can apply
// a profile here does not change while the plugin runs.
var probeResult struct {
	once        sync.Once
	available   bool
	unavailable string
	facts       map[string]string
}

// probe copies the availability probe's answer and the host facts into
// info (see probeOnce).
func probe(_ context.Context, info *core.Info) {
	probeOnce()
	info.Available = probeResult.available
	info.Unavailable = probeResult.unavailable
	for k, v := range probeResult.facts {
		info.Facts[k] = v
	}
}

// probeOnce checks, once per plugin process, that sandbox-exec exists and
// can apply a profile (it cannot inside another Seatbelt sandbox: profiles
// do not nest), and records facts about the host in probeResult.
//
// The probe does not use the caller's context: its answer is cached for the
// life of the plugin, and a caller's cancellation must not be cached as
// "unavailable".
func probeOnce() {
	probeResult.once.Do(func() {
		facts := map[string]string{"sandbox_exec": SandboxExec}
		if v, err := unix.Sysctl("kern.osproductversion"); err == nil {
			facts["macos_version"] = v
		}
		probeResult.facts = facts
		if _, err := os.Stat(SandboxExec); err != nil {
			probeResult.unavailable = fmt.Sprintf("%s is missing (%v): this macOS has no Seatbelt command-line tool; see docs/backends/darwin.md for the alternatives", SandboxExec, err)
			return
		}
		pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(pctx, SandboxExec, "-p", "(version 1)(allow default)", "--", "/usr/bin/true").CombinedOutput()
		if err != nil {
			facts["probe"] = "failed"
			probeResult.unavailable = fmt.Sprintf("%s cannot apply a profile here (%v: %s); sbx is probably running inside another sandbox, and Seatbelt profiles do not nest: run sbx outside it", SandboxExec, err, strings.TrimSpace(string(out)))
			return
		}
		facts["probe"] = "ok"
		probeResult.available = true
	})
}
