package probe

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tiocstiProbe opens a new pseudo terminal, tries to make it the probe's
// controlling terminal, and pushes one byte into its input with TIOCSTI:
// what an escape into the user's terminal would do (CVE-2017-5226). A
// backend that filters the ioctl refuses it whatever terminal it is used
// on; the kernel itself refuses it when dev.tty.legacy_tiocsti is 0 and
// the caller lacks CAP_SYS_ADMIN.
func tiocstiProbe() Result {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return failed("open /dev/ptmx: %v", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return failed("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return failed("pty number: %v", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return failed("open pty: %v", err)
	}
	defer slave.Close()
	// Best effort: as a session leader without a terminal (sbx runs
	// commands with setsid) this makes it our controlling terminal, which
	// TIOCSTI requires of callers without CAP_SYS_ADMIN.
	_ = unix.IoctlSetInt(int(slave.Fd()), unix.TIOCSCTTY, 0)
	b := byte('#')
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, slave.Fd(), unix.TIOCSTI, uintptr(unsafe.Pointer(&b))); e != 0 {
		return blocked(e)
	}
	return allowed("pushed a byte into a terminal's input")
}

// ptraceProbe starts a child (this program, sleeping) and attaches to it
// with ptrace.
func ptraceProbe() Result {
	self, err := os.Executable()
	if err != nil {
		return failed("cannot find the probe program: %v", err)
	}
	child := exec.Command(self, ArgSleep)
	if err := child.Start(); err != nil {
		return failed("start a child to trace: %v", err)
	}
	defer func() {
		_ = child.Process.Kill()
		_ = child.Wait()
	}()
	// ptrace requests must come from the thread that attached.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.PtraceAttach(child.Process.Pid); err != nil {
		return blocked(err)
	}
	var ws unix.WaitStatus
	_, _ = unix.Wait4(child.Process.Pid, &ws, unix.WALL, nil)
	_ = unix.PtraceDetach(child.Process.Pid)
	return allowed(fmt.Sprintf("attached to pid %d", child.Process.Pid))
}

// netlinkProbe opens a NETLINK_ROUTE socket (how programs read and change
// interfaces, routes and addresses).
func netlinkProbe() Result {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return blocked(err)
	}
	unix.Close(fd)
	return allowed("socket(AF_NETLINK, NETLINK_ROUTE) succeeded")
}

// rawSocketProbe opens a raw ICMP socket (crafting packets; needs
// CAP_NET_RAW, so the host refuses it to unprivileged users anyway).
func rawSocketProbe() Result {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		return blocked(err)
	}
	unix.Close(fd)
	return allowed("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) succeeded")
}
