//go:build linux

package linux

// The escape tests run this test binary inside the sandbox as a small Go
// program ("act") that tries one forbidden thing and reports what the OS
// said. Being Go, it also covers programs that ignore proxy variables and
// talk to the kernel directly.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/plugins/sdk/proc"
)

const actArg = "sbx-test-act"

func TestMain(m *testing.M) {
	Reexec()
	if len(os.Args) > 2 && os.Args[1] == actArg {
		os.Exit(act(os.Args[2], os.Args[3:]))
	}
	// Like the plugin (sdk.Serve): orphans of a run are reparented to us,
	// so a daemonised grandchild can be found and killed.
	_ = proc.BecomeSubreaper()
	code := m.Run()
	if actDir != "" {
		os.RemoveAll(actDir)
	}
	os.Exit(code)
}

// actDir holds a copy of this test binary outside /tmp, which the
// namespaces mode replaces by a private tmpfs.
var (
	actDir     string
	actBinOnce sync.Once
	actBin     string
	actBinErr  error
)

// actBinary returns the path of the act program (this test binary, copied
// to a world-readable directory under /var/tmp).
func actBinary() (string, error) {
	actBinOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			actBinErr = err
			return
		}
		actDir, err = os.MkdirTemp("/var/tmp", "sbx-linux-act-")
		if err != nil {
			actBinErr = err
			return
		}
		_ = os.Chmod(actDir, 0o755)
		data, err := os.ReadFile(self)
		if err != nil {
			actBinErr = err
			return
		}
		actBin = filepath.Join(actDir, "act")
		actBinErr = os.WriteFile(actBin, data, 0o755)
	})
	return actBin, actBinErr
}

// Act exit codes.
const (
	actDone    = 0 // the OS let it happen
	actRefused = 1 // the OS refused (the error is printed)
)

// act performs one action; it prints "ok" or the error.
func act(name string, args []string) int {
	err := doAct(name, args)
	if err != nil {
		fmt.Println("refused:", err)
		return actRefused
	}
	fmt.Println("ok")
	return actDone
}

func doAct(name string, a []string) error {
	switch name {
	case "write":
		return os.WriteFile(a[0], []byte("escaped\n"), 0o644)
	case "write-value": // write a[1] into an existing file a[0]
		f, err := os.OpenFile(a[0], os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString(a[1] + "\n")
		return err
	case "read":
		_, err := os.ReadFile(a[0])
		return err
	case "append":
		f, err := os.OpenFile(a[0], os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString("escaped\n")
		return err
	case "mkdir":
		return os.Mkdir(a[0], 0o755)
	case "symlink-write": // create a symlink a[0] -> a[1] and write through it
		if err := os.Symlink(a[1], a[0]); err != nil {
			return err
		}
		return os.WriteFile(a[0], []byte("escaped\n"), 0o644)
	case "hardlink-write": // link a[0] (outside) to a[1] (inside) and write it
		if err := os.Link(a[0], a[1]); err != nil {
			return err
		}
		f, err := os.OpenFile(a[1], os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString("escaped\n")
		return err
	case "rename":
		return os.Rename(a[0], a[1])
	case "child-write": // a child process writes
		cmd := exec.Command(os.Args[0], actArg, "write", a[0])
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("child: %s", out)
		}
		return nil
	case "daemon": // a setsid'd grandchild writes a[1] after a delay; a[0] is its start marker
		cmd := exec.Command(os.Args[0], actArg, "daemon-child", a[0], a[1])
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return err
		}
		// Wait until it runs, then leave it behind.
		for i := 0; i < 500; i++ {
			if _, err := os.Stat(a[0]); err == nil {
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
		return errors.New("daemon did not start")
	case "daemon-child":
		if err := os.WriteFile(a[0], []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return err
		}
		time.Sleep(1500 * time.Millisecond)
		return os.WriteFile(a[1], []byte("survived\n"), 0o644)
	case "tcp":
		c, err := net.DialTimeout("tcp", a[0], 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("escaped"))
		return err
	case "udp":
		c, err := net.Dial("udp", a[0])
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("escaped"))
		return err
	case "raw":
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
		if err != nil {
			return err
		}
		unix.Close(fd)
		return nil
	case "icmp": // unprivileged ping socket
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP)
		if err != nil {
			return err
		}
		unix.Close(fd)
		return nil
	case "netlink":
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		unix.Close(fd)
		return nil
	case "dns": // resolve through the test's DNS listener
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return net.Dial("udp", a[0])
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := r.LookupHost(ctx, "example.com")
		return err
	case "unix": // AF_UNIX stays allowed (local IPC)
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			return err
		}
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil
	case "unshare":
		return unix.Unshare(unix.CLONE_NEWUSER | unix.CLONE_NEWNS)
	case "unshare-net":
		return unix.Unshare(unix.CLONE_NEWNET)
	case "mount":
		return unix.Mount("tmpfs", a[0], "tmpfs", 0, "")
	case "remount-rw":
		return unix.Mount("", a[0], "", unix.MS_REMOUNT|unix.MS_BIND, "")
	case "ptrace-sibling":
		sib := exec.Command(os.Args[0], actArg, "sleep")
		if err := sib.Start(); err != nil {
			return err
		}
		defer sib.Process.Kill()
		return unix.PtraceAttach(sib.Process.Pid)
	case "ptrace":
		pid, _ := strconv.Atoi(a[0])
		return unix.PtraceAttach(pid)
	case "read-tty": // read what waits on the terminal a[0], without blocking
		fd, err := unix.Open(a[0], unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		buf := make([]byte, 256)
		n, err := unix.Read(fd, buf)
		if err != nil {
			return err
		}
		fmt.Printf("read %q\n", buf[:n])
		return nil
	case "open-ns": // open the user and mount namespaces of process a[0], the first step to entering them
		for _, ns := range []string{"user", "mnt"} {
			fd, err := unix.Open("/proc/"+a[0]+"/ns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			unix.Close(fd)
		}
		return nil
	case "tiocsti":
		return tiocsti()
	case "kill":
		pid, _ := strconv.Atoi(a[0])
		return unix.Kill(pid, unix.SIGKILL)
	case "sleep":
		time.Sleep(time.Minute)
		return nil
	case "memhog":
		var keep [][]byte
		for i := 0; i < 400; i++ { // up to 4GiB, 10MiB at a time
			b := make([]byte, 10<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		return fmt.Errorf("allocated %d chunks without being stopped", len(keep))
	case "forkbomb":
		for {
			cmd := exec.Command(os.Args[0], actArg, "sleep")
			_ = cmd.Start()
		}
	case "io_uring":
		var params [120]byte
		_, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
		if e != 0 {
			return e
		}
		return nil
	}
	return fmt.Errorf("unknown act %q", name)
}

// tiocsti tries to inject a byte into the input of its own controlling
// terminal: allowed by the kernel for one's own terminal, so a refusal
// with EPERM comes from the seccomp filter. The terminal is stdin in a
// --tty run; otherwise the act makes a new pty its controlling terminal.
func tiocsti() error {
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		c := byte('x')
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, 0, unix.TIOCSTI, uintptr(unsafe.Pointer(&c))); e != 0 {
			return e
		}
		return nil
	}
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("setup: unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("setup: ptsname: %w", err)
	}
	_, _ = unix.Setsid()
	// Closing the pty hangs up its session: do not die of it.
	signal.Ignore(unix.SIGHUP)
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	defer slave.Close()
	_ = unix.IoctlSetInt(int(slave.Fd()), unix.TIOCSCTTY, 0)
	c := byte('x')
	_, _, e := unix.Syscall(unix.SYS_IOCTL, slave.Fd(), unix.TIOCSTI, uintptr(unsafe.Pointer(&c)))
	if e != 0 {
		return e
	}
	return nil
}

// unixPtsNumber unlocks the pty of master and returns its number.
func unixPtsNumber(master *os.File) (int, error) {
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return 0, err
	}
	return unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
}
