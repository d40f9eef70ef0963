//go:build unix

package probe

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errnoName is the symbolic name of an errno ("EACCES").
func errnoName(e syscall.Errno) string { return unix.ErrnoName(e) }

// detachedWait bounds how long the probe waits for its grandchild's
// answer.
const detachedWait = 10 * time.Second

// detachedProbe re-executes this program twice: the child starts a
// grandchild in a new session and exits at once, so the grandchild is an
// orphan outside the probe's process group and session (what a daemon
// does). The grandchild tries to write outside and sends its result back
// through a pipe it inherited as fd 3.
func detachedProbe(c *Config) Result {
	if c.Outside == "" {
		return skipped("no directory outside the writable roots was found")
	}
	self, err := os.Executable()
	if err != nil {
		return failed("cannot find the probe program: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return failed("pipe: %v", err)
	}
	defer r.Close()
	cfg, _ := json.Marshal(c)
	child := exec.Command(self, argDetached1, string(cfg))
	child.ExtraFiles = []*os.File{w}
	err = child.Run()
	w.Close()
	if err != nil {
		return failed("the detaching child failed: %v", err)
	}
	_ = r.SetReadDeadline(time.Now().Add(detachedWait))
	var res Result
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		return failed("no answer from the detached grandchild: %v", err)
	}
	return res
}

// detachedStage1 starts the grandchild in a new session and returns
// without waiting for it.
func detachedStage1(args []string) int {
	if len(args) != 1 {
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		return 1
	}
	gc := exec.Command(self, argDetached2, args[0])
	gc.ExtraFiles = []*os.File{os.NewFile(3, "result")}
	gc.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := gc.Start(); err != nil {
		return 1
	}
	return 0
}

// detachedStage2 is the grandchild: it writes outside and reports.
func detachedStage2(args []string) int {
	out := os.NewFile(3, "result")
	var c Config
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &c) != nil {
		return 2
	}
	res := writeProbe(c.Outside, "", fmt.Sprintf("probe-detached-%d", os.Getpid()))
	res.Detail = fmt.Sprintf("from a setsid grandchild (pid %d, session %d): %s", os.Getpid(), sid(), res.Detail)
	_ = json.NewEncoder(out).Encode(res)
	return 0
}

func sid() int {
	s, err := unix.Getsid(0)
	if err != nil {
		return -1
	}
	return s
}

// signalProbe checks with kill(pid, 0) whether the harness's process may
// be signalled: the permission check of a real signal, without delivering
// one.
func signalProbe(pid int) Result {
	if pid <= 0 {
		return skipped("the harness started no process to signal")
	}
	if err := unix.Kill(pid, 0); err != nil {
		return blocked(err)
	}
	return allowed(fmt.Sprintf("kill(%d, 0) succeeded", pid))
}
