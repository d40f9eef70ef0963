//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins/sdk/proc/inherit"
	"github.com/sbxdev/sbx/plugins/sdk/proc/spare"
)

// Reexec runs the helper role this process was started for (its argv[0]),
// and exits. It returns at once when the process is not a helper, so
// mains that may be started as a helper call it first thing.
func Reexec() {
	if len(os.Args) == 0 {
		return
	}
	switch os.Args[0] {
	case RoleProbe:
		os.Exit(runProbe())
	case RoleExec:
		os.Exit(runExec())
	case RoleInit:
		os.Exit(runInit())
	}
}

// readConfig reads the configuration from configFD and marks both helper
// descriptors close-on-exec so the command never inherits them.
func readConfig() (*Config, *os.File, error) {
	syscall.CloseOnExec(ConfigFD)
	syscall.CloseOnExec(StatusFD)
	status := os.NewFile(StatusFD, "status")
	in := os.NewFile(ConfigFD, "config")
	b, err := io.ReadAll(in)
	in.Close()
	if err != nil {
		return nil, status, fmt.Errorf("reading the run configuration: %w", err)
	}
	var cfg Config
	if err := cfg.UnmarshalBinary(b); err != nil {
		if errors.Is(err, errOtherBuild) {
			return nil, status, fmt.Errorf("the sandbox helper %s speaks configuration version %d, the plugin sent another (%v): install the plugin and sbx-linux-sandbox from the same build (go build -o bin/ ./cmd/...)", os.Args[0], Version, err)
		}
		return nil, status, fmt.Errorf("bad run configuration (%d bytes): %w", len(b), err)
	}
	return &cfg, status, nil
}

// awaitRun returns at once for a helper started for its run; a spare
// (argv[1] is SpareArg) waits there for the run to be handed over, or
// exits quietly when its plugin no longer needs it.
func awaitRun() {
	if len(os.Args) < 2 || os.Args[1] != SpareArg {
		return
	}
	switch err := spare.Await(); {
	case err == nil:
	case errors.Is(err, spare.ErrNoRun):
		os.Exit(0)
	default:
		// Once the run's files are in place the status descriptor is
		// the run's; before that it is a reserved /dev/null, and the
		// plugin fails the run on the configuration it cannot send.
		fail(os.NewFile(StatusFD, "status"), "unsupported", err)
		os.Exit(125)
	}
}

// report writes st to the status descriptor.
func report(status *os.File, st Status) {
	if status == nil {
		return
	}
	_, _ = status.Write(encodeStatus(st))
}

// fail reports a setup error and returns the helper's exit code.
func fail(status *os.File, class string, err error) int {
	report(status, Status{Error: err.Error(), Class: class})
	return 125
}

// classOf names the class of an error for the status message.
func classOf(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "not found"
	case errors.Is(err, os.ErrPermission):
		return "permission"
	default:
		return "unsupported"
	}
}

// confine marks every descriptor but the standard streams close-on-exec
// and applies no_new_privs in every case, then the Landlock ruleset
// and the seccomp filter of cfg, to the calling thread, which must be
// locked (runtime.LockOSThread) and must be the one that executes or
// forks the command: the command inherits them from it. Both need
// no_new_privs set first (without CAP_SYS_ADMIN); it is set once, here.
func confine(cfg *Config) error {
	// Only the standard streams reach the command: a descriptor the
	// plugin inherited from whoever started it would be a way around the
	// write boundary.
	if err := inherit.OnlyStdio(); err != nil {
		return fmt.Errorf("marking inherited descriptors close-on-exec: %w", err)
	}
	if err := setNoNewPrivs(); err != nil {
		return fmt.Errorf("%w: %v", core.ErrPermission, err)
	}
	if cfg.Landlock != nil {
		if err := applyLandlock(cfg.Landlock); err != nil {
			return err
		}
	}
	if cfg.Seccomp != nil {
		return applySeccomp(cfg.Seccomp)
	}
	return nil
}

// runExec is the Landlock-mode helper: it confines itself and
// executes the command, which so inherits the confinement. The parent has
// put it in the run's cgroup before sending the configuration.
func runExec() int {
	runtime.LockOSThread()
	awaitRun()
	cfg, status, err := readConfig()
	if err != nil {
		return fail(status, "unsupported", err)
	}
	if err := os.Chdir(cfg.Dir); err != nil {
		return fail(status, classOf(err), fmt.Errorf("working directory: %w", err))
	}
	if cfg.DropCapabilities {
		if err := dropCapabilities(); err != nil {
			return fail(status, "permission", err)
		}
	}
	if err := confine(cfg); err != nil {
		return fail(status, "unsupported", err)
	}
	err = unix.Exec(cfg.Path, cfg.Argv, cfg.Env)
	return fail(status, classOf(err), fmt.Errorf("executing %s: %w", cfg.Path, err))
}

// runInit is the namespaces-mode helper, pid 1 of the new pid namespace:
// it builds the mount namespace, brings up loopback, drops capabilities,
// confines itself, starts the command, reaps every process until the
// command exits, kills what is left, and reports the command's status.
// When it dies, the kernel kills every process of the namespace.
func runInit() int {
	runtime.LockOSThread() // capability and bounding-set changes are per thread; the fork happens here
	// Signals sent to the run's process group reach the command directly
	// while it stays in init's group; init must not die of them, and
	// forwards them when the command moved to a group of its own.
	// signal.Notify costs ≈ 0.6 ms (the runtime starts its signal thread
	// and waits for it), so it runs alongside reading the configuration
	// and the mounts, and is waited for just before the command starts.
	var cmdPid atomic.Int64
	sigs := make(chan os.Signal, 8)
	notified := make(chan struct{})
	go func() {
		signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
		close(notified)
		for s := range sigs {
			pid := int(cmdPid.Load())
			if pid == 0 {
				continue
			}
			if pg, err := unix.Getpgid(pid); err == nil && pg != unix.Getpgrp() {
				_ = unix.Kill(-pg, s.(syscall.Signal))
			}
		}
	}()
	awaitRun()
	cfg, status, err := readConfig()
	if err != nil {
		return fail(status, "unsupported", err)
	}
	if err := setupMounts(cfg.Mounts); err != nil {
		return fail(status, "permission", err)
	}
	if cfg.Loopback {
		if err := loopbackUp(); err != nil {
			return fail(status, "permission", fmt.Errorf("bringing up lo: %w", err))
		}
	}
	if err := os.Chdir(cfg.Dir); err != nil {
		return fail(status, classOf(err), fmt.Errorf("working directory %s inside the sandbox: %w", cfg.Dir, err))
	}
	if cfg.DropCapabilities {
		if err := dropCapabilities(); err != nil {
			return fail(status, "permission", err)
		}
	}
	if err := confine(cfg); err != nil {
		return fail(status, "unsupported", err)
	}
	<-notified
	// syscall.ForkExec rather than os.StartProcess: the os package first
	// forks a throw-away child to check that pidfds work (≈ 0.3 ms), and
	// init reaps with wait4 anyway.
	pid, err := syscall.ForkExec(cfg.Path, cfg.Argv, &syscall.ProcAttr{
		Dir:   cfg.Dir,
		Env:   cfg.Env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return fail(status, classOf(err), fmt.Errorf("starting %s: %w", cfg.Path, &os.PathError{Op: "fork/exec", Path: cfg.Path, Err: err}))
	}
	cmdPid.Store(int64(pid))
	var cmdStatus *unix.WaitStatus
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil { // ECHILD: nobody left
			break
		}
		if got == pid && cmdStatus == nil {
			cmdStatus = &ws
			// The command is done: everything it left behind dies now.
			_ = unix.Kill(-1, unix.SIGKILL)
		}
	}
	st := Status{}
	code := 0
	switch {
	case cmdStatus == nil:
		code = 125
		st.Error, st.Class = "the command's exit status was lost", "unsupported"
	case cmdStatus.Signaled():
		st.Signal = int(cmdStatus.Signal())
		code = 128 + st.Signal
	default:
		code = cmdStatus.ExitStatus()
	}
	st.Exit = &code
	report(status, st)
	return code
}

// dropCapabilities empties the bounding, ambient and inheritable sets of
// this thread, so the command it starts holds no capability, whatever its
// uid inside the namespace.
func dropCapabilities() error {
	for c := 0; c <= 63; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// loopbackUp sets IFF_UP on "lo" in the new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
