package probe

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tiocstiProbe opens the terminal the harness created outside the sandbox
// (a stand-in for the user's terminal) and pushes one byte into its input
// with TIOCSTI: the classic escape from a sandbox that shares the user's
// terminal (CVE-2017-5226). A sandbox stops it by hiding the terminal (a
// private /dev), by a new session (TIOCSTI on a terminal that is not the
// caller's controlling terminal needs CAP_SYS_ADMIN), or by filtering the
// ioctl.
func tiocstiProbe(c *Config) Result {
	if c.Terminal == "" {
		return skipped("the harness could not create a terminal")
	}
	tty, err := os.OpenFile(c.Terminal, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return blockedAt("open "+c.Terminal, err)
	}
	defer tty.Close()
	b := byte('#')
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, tty.Fd(), unix.TIOCSTI, uintptr(unsafe.Pointer(&b))); e != 0 {
		return blockedAt("ioctl TIOCSTI", e)
	}
	return allowed("pushed a byte into the input of " + c.Terminal)
}

// ptraceProbe attaches with ptrace to the harness's process outside the
// sandbox, then lets it go again.
func ptraceProbe(c *Config) Result {
	pid := c.SignalPid
	if pid <= 0 {
		return skipped("the harness started no process to trace")
	}
	// ptrace requests must come from the thread that attached.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.PtraceAttach(pid); err != nil {
		return blocked(err)
	}
	var ws unix.WaitStatus
	_, _ = unix.Wait4(pid, &ws, unix.WALL, nil)
	_ = unix.PtraceDetach(pid)
	return allowed(fmt.Sprintf("attached to pid %d", pid))
}

// netlinkProbe lists the network interfaces over a NETLINK_ROUTE socket
// (how programs read and change interfaces, routes and addresses). It
// gets through when it sees an interface besides loopback: the host's
// network, not an empty network namespace.
func netlinkProbe() Result {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return blockedAt("netlink RTM_GETLINK", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return failed("parse netlink answer: %v", err)
	}
	var names []string
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWLINK {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type == syscall.IFLA_IFNAME {
				names = append(names, strings.TrimRight(string(a.Value), "\x00"))
			}
		}
	}
	for _, n := range names {
		if n != "lo" {
			return allowed("sees the interfaces " + strings.Join(names, ", "))
		}
	}
	return Result{Outcome: OutcomeBlocked, Detail: "only loopback is visible (" + strings.Join(names, ", ") + ")"}
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

// readTerminalProbe opens the terminal the harness holds outside the
// sandbox for reading, as a command would that wanted what the user types
// in another terminal window or ssh session (a sudo password). Opening is
// the capability: nothing need be waiting. Blocked by a private /dev
// (namespaces) or by a sandbox that keeps /dev/pts out of reach (Landlock
// read rules).
func readTerminalProbe(c *Config) Result {
	if c.Terminal == "" {
		return skipped("the harness could not make a terminal")
	}
	fd, err := unix.Open(c.Terminal, unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return blockedAt("open "+c.Terminal+" for reading", err)
	}
	_ = unix.Close(fd)
	return allowed("opened " + c.Terminal + " for reading: what is typed there can be read")
}
