//go:build unix

package fdpass

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Supported reports whether descriptor passing works on this OS.
const Supported = true

// maxTicket bounds a ticket's length; maxFiles the descriptors per message.
const (
	maxTicket = 64
	maxFiles  = 3
)

// Pair makes a connected socket pair: the host keeps the first end, the
// plugin inherits the second.
func Pair() (host, plugin *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, sockType, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("fdpass: socketpair: %w", err)
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	return os.NewFile(uintptr(fds[0]), "sbx-fd-host"), os.NewFile(uintptr(fds[1]), "sbx-fd-plugin"), nil
}

// Send sends files over sock, tagged with ticket, as one message.
func Send(sock *os.File, ticket string, files []*os.File) error {
	if len(ticket) == 0 || len(ticket) > maxTicket || len(files) == 0 || len(files) > maxFiles {
		return fmt.Errorf("fdpass: bad message (ticket %d bytes, %d files)", len(ticket), len(files))
	}
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	err := unix.Sendmsg(int(sock.Fd()), []byte(ticket), unix.UnixRights(fds...), nil, 0)
	// Keep the files (and so their descriptors) alive until sent.
	runtime.KeepAlive(files)
	if err != nil {
		return fmt.Errorf("fdpass: sendmsg: %w", err)
	}
	return nil
}

// Receiver collects the batches a host sends, by ticket.
type Receiver struct {
	mu      sync.Mutex
	cond    *sync.Cond
	batches map[string][]*os.File
	err     error
}

// Listen starts reading batches from sock in the background.
// The descriptor is made close-on-exec first: it is inherited without that
// flag, and a sandboxed command must never get hold of it.
func Listen(sock *os.File) *Receiver {
	unix.CloseOnExec(int(sock.Fd()))
	r := newReceiver()
	go func() {
		err := r.read(int(sock.Fd()), true)
		// Until here sock must stay reachable: its finalizer would
		// close the descriptor under the reader.
		runtime.KeepAlive(sock)
		r.mu.Lock()
		r.err = err
		r.cond.Broadcast()
		r.mu.Unlock()
	}()
	return r
}

func newReceiver() *Receiver {
	r := &Receiver{batches: map[string][]*os.File{}}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// Serve accepts connections on l (a "unixpacket" listener in a directory
// only this user can enter) and collects the batches each sends, after check
// accepted the peer, until the peer hangs up: a host may send one batch per
// connection (SendTo) or keep one connection for all its runs (Dial). A
// long-lived plugin agent uses it, since it has no inherited socket pair per
// host.
func Serve(l *net.UnixListener, check func(*net.UnixConn) error) *Receiver {
	r := newReceiver()
	go func() {
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				r.mu.Lock()
				r.err = fmt.Errorf("fdpass: %w", err)
				r.cond.Broadcast()
				r.mu.Unlock()
				return
			}
			go func() {
				defer c.Close()
				if check(c) != nil {
					return
				}
				f, err := c.File()
				if err != nil {
					return
				}
				defer f.Close()
				_ = r.read(int(f.Fd()), true)
			}()
		}
	}()
	return r
}

// Dial connects to the agent socket at addr and returns the connection, for
// Send, after check accepted the process listening there. A host keeps it
// for all the batches it sends to an agent whose Serve reads many per
// connection (plugins.FeatureStdioFDConn).
func Dial(addr string, check func(*net.UnixConn) error) (*os.File, error) {
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: addr, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("fdpass: %w", err)
	}
	defer c.Close()
	if err := check(c); err != nil {
		return nil, fmt.Errorf("fdpass: %s: %w", addr, err)
	}
	f, err := c.File()
	if err != nil {
		return nil, fmt.Errorf("fdpass: %w", err)
	}
	return f, nil
}

// SendTo connects to the agent socket at addr and sends one batch, after
// check accepted the process listening there.
func SendTo(addr string, check func(*net.UnixConn) error, ticket string, files []*os.File) error {
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: addr, Net: "unixpacket"})
	if err != nil {
		return fmt.Errorf("fdpass: %w", err)
	}
	defer c.Close()
	if err := check(c); err != nil {
		return fmt.Errorf("fdpass: %s: %w", addr, err)
	}
	f, err := c.File()
	if err != nil {
		return fmt.Errorf("fdpass: %w", err)
	}
	defer f.Close()
	return Send(f, ticket, files)
}

// read receives batches from fd until the peer hangs up (and returns nil
// after one batch unless many is set).
func (r *Receiver) read(fd int, many bool) error {
	buf := make([]byte, maxTicket)
	oob := make([]byte, unix.CmsgSpace(maxFiles*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, recvFlags)
		if err == unix.EINTR {
			continue
		}
		if err == nil && n == 0 && oobn == 0 {
			err = errors.New("host closed the descriptor channel")
		}
		if err != nil {
			return fmt.Errorf("fdpass: %w", err)
		}
		var files []*os.File
		if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
			for _, m := range msgs {
				fds, rerr := unix.ParseUnixRights(&m)
				if rerr != nil {
					continue
				}
				for _, fd := range fds {
					unix.CloseOnExec(fd)
					files = append(files, os.NewFile(uintptr(fd), "sbx-stdio"))
				}
			}
		}
		r.mu.Lock()
		r.batches[string(buf[:n])] = files
		r.cond.Broadcast()
		r.mu.Unlock()
		if !many {
			return nil
		}
	}
}

// Take returns (and forgets) the batch sent with ticket, waiting up to
// timeout for it to arrive.
func (r *Receiver) Take(ticket string, timeout time.Duration) ([]*os.File, error) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if fs, ok := r.batches[ticket]; ok {
			delete(r.batches, ticket)
			return fs, nil
		}
		if r.err != nil {
			return nil, r.err
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("fdpass: no descriptors arrived for ticket %q within %s", ticket, timeout)
		}
		r.cond.Wait()
	}
}
