package peercred

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/credentials"
)

// Supported reports whether peer checks work on this OS.
const Supported = true

// ErrRefused is returned for a peer that may not use an agent.
var ErrRefused = errors.New("peercred: peer refused")

// Check returns nil when the peer of c may use an agent: same uid as this
// process, same pid namespace, and no_new_privs not set.
func Check(c *net.UnixConn) error {
	_, err := check(c)
	return err
}

// CheckServer returns nil when the peer of c is the process pid and passes
// the same checks: a host uses it before trusting an agent, so that a
// sandboxed process that managed to plant a socket where the agent's should
// be gets nothing (no policy, no descriptors).
func CheckServer(c *net.UnixConn, pid int) error {
	got, err := check(c)
	if err != nil {
		return err
	}
	if got != pid {
		return fmt.Errorf("%w: the socket is served by process %d, not the agent %d", ErrRefused, got, pid)
	}
	return nil
}

func check(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, fmt.Errorf("peercred: SO_PEERCRED: %w", cerr)
	}
	if int(cred.Uid) != os.Getuid() {
		return 0, fmt.Errorf("%w: uid %d is not this process's uid %d", ErrRefused, cred.Uid, os.Getuid())
	}
	pid := strconv.Itoa(int(cred.Pid))
	self, err1 := os.Readlink("/proc/self/ns/pid")
	peer, err2 := os.Readlink("/proc/" + pid + "/ns/pid")
	if err1 != nil || err2 != nil || self != peer {
		return 0, fmt.Errorf("%w: process %s is in another pid namespace", ErrRefused, pid)
	}
	nnp, err := noNewPrivs(pid)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if nnp {
		return 0, fmt.Errorf("%w: process %s runs with no_new_privs (it may be sandboxed)", ErrRefused, pid)
	}
	// The pid could have been reused between SO_PEERCRED and the reads
	// above only if the peer exited; a peer that exited cannot use the
	// connection, so the answer stays safe.
	return int(cred.Pid), nil
}

// noNewPrivs reads the NoNewPrivs flag of a process.
func noNewPrivs(pid string) (bool, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "NoNewPrivs:"); ok {
			return strings.TrimSpace(v) != "0", nil
		}
	}
	return false, errors.New("no NoNewPrivs line in /proc/" + pid + "/status")
}

// Creds returns gRPC transport credentials that accept a connection only
// when Check passes for its peer. They add no encryption: the connection
// is a Unix socket in a directory only this user can enter.
func Creds() credentials.TransportCredentials { return creds{} }

type creds struct{}

type authInfo struct{}

func (authInfo) AuthType() string { return "sbx-peercred" }

func (creds) ClientHandshake(_ context.Context, _ string, c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c, authInfo{}, nil
}

func (creds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil, nil, fmt.Errorf("%w: not a Unix socket connection", ErrRefused)
	}
	if err := Check(uc); err != nil {
		return nil, nil, err
	}
	return c, authInfo{}, nil
}

func (creds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "sbx-peercred"}
}

func (c creds) Clone() credentials.TransportCredentials { return c }

func (creds) OverrideServerName(string) error { return nil }
