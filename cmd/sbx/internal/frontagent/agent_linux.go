package frontagent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/cmd/sbx/internal/front"
)

// PrivateDir creates dir (mode 0700) if it is missing and checks that it is
// a directory, not a link, owned by this user and closed to everyone else.
func PrivateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: dir, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || st.Mode&0o077 != 0 {
		return fmt.Errorf("%s is not a private directory of this user (want a directory owned by uid %d, mode 0700)", dir, os.Getuid())
	}
	return nil
}

// Listener accepts front-end connections.
type Listener struct {
	l         *net.UnixListener
	path      string
	closeOnce sync.Once
	// Check vets a new connection's peer before anything is read from it;
	// a connection it refuses is closed. The agent refuses other users and
	// sandboxed processes: a command inside a sandbox must never be able to
	// ask the agent to run something with a looser policy.
	Check func(*net.UnixConn) error
}

// Listen listens on the socket at path, replacing a stale socket file. The
// socket is made accessible to its owner only. It appears at path only once
// it listens: it is bound under a temporary name and renamed into place, so
// a front end never finds the file and gets "connection refused" (which
// would send it down the cold path) in the instant between bind and listen.
func Listen(path string) (*Listener, error) {
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	_ = os.Remove(tmp)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, err
	}
	return &Listener{l: l, path: path}, nil
}

// Accept waits for a connection whose peer passes Check.
func (l *Listener) Accept() (*Conn, error) {
	for {
		c, err := l.l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if l.Check != nil {
			if err := l.Check(c); err != nil {
				// Nothing is read from a refused peer; it is told to
				// run the full CLI itself (inside its own sandbox, when
				// it is sandboxed), which gains it nothing.
				_, _ = c.Write(front.EncodeFallback("refused: " + err.Error()))
				c.Close()
				continue
			}
		}
		return &Conn{c: c}, nil
	}
}

// Close stops listening and removes the socket file.
func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		// The name first: a front end that finds no file goes the cold
		// way at once, where one that finds a closed socket would too,
		// but later. Once only: the name may be another agent's later.
		_ = os.Remove(l.path)
		err = l.l.Close()
	})
	return err
}

// Conn is one front-end connection, on the agent's side.
type Conn struct {
	c *net.UnixConn
	// r reads the connection, starting with what the first read left over.
	r  io.Reader
	mu sync.Mutex
	// answered is set once Exit or Fallback was sent.
	answered bool
}

// Request reads the request and the client's three standard streams. The
// caller owns (and closes) the files.
func (c *Conn) Request() (front.Request, [3]*os.File, error) {
	var files [3]*os.File
	// A front end sends its request right after connecting; one that does
	// not within requestTimeout is stuck, and must not keep the agent
	// from idling out.
	_ = c.c.SetReadDeadline(time.Now().Add(requestTimeout))
	defer c.c.SetReadDeadline(time.Time{})
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := c.c.ReadMsgUnix(buf, oob)
	if err != nil {
		return front.Request{}, files, err
	}
	var fds []int
	if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
		for i := range msgs {
			got, rerr := unix.ParseUnixRights(&msgs[i])
			if rerr == nil {
				fds = append(fds, got...)
			}
		}
	}
	closeFDs := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if len(fds) != 3 {
		closeFDs()
		return front.Request{}, files, fmt.Errorf("%w: request with %d descriptors, want 3", front.ErrProtocol, len(fds))
	}
	if n == 0 {
		closeFDs()
		return front.Request{}, files, io.ErrUnexpectedEOF
	}
	c.r = io.MultiReader(bytes.NewReader(buf[:n]), c.c)
	t, payload, err := front.ReadFrame(c.r)
	if err == nil && t != front.FrameRequest {
		err = fmt.Errorf("%w: first frame of type %q, want a request", front.ErrProtocol, t)
	}
	var r front.Request
	if err == nil {
		r, err = front.DecodeRequest(payload)
	}
	if err != nil {
		closeFDs()
		return front.Request{}, files, err
	}
	for i, fd := range fds {
		unix.CloseOnExec(fd)
		files[i] = os.NewFile(uintptr(fd), []string{"stdin", "stdout", "stderr"}[i])
	}
	return r, files, nil
}

// Signals returns the signals the client forwards. The channel is closed
// when the client hangs up (it died, or sent something malformed): the
// agent then cancels what it runs for it.
func (c *Conn) Signals() <-chan syscall.Signal {
	ch := make(chan syscall.Signal, 8)
	r := c.r
	if r == nil {
		r = c.c
	}
	go func() {
		defer close(ch)
		for {
			t, payload, err := front.ReadFrame(r)
			if err != nil || t != front.FrameSignal || len(payload) != 1 {
				return
			}
			select {
			case ch <- syscall.Signal(payload[0]):
			default: // a client flooding signals loses some
			}
		}
	}()
	return ch
}

// Exit sends sbx's exit status.
func (c *Conn) Exit(code int) error { return c.answer(front.EncodeExit(code)) }

// Fallback tells the client that nothing ran and it must run the full CLI.
func (c *Conn) Fallback(reason string) error {
	return c.answer(front.EncodeFallback(reason))
}

func (c *Conn) answer(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answered {
		return errors.New("front: already answered")
	}
	c.answered = true
	_, err := c.c.Write(b)
	return err
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// requestTimeout bounds the wait for a connected front end's request.
var requestTimeout = 10 * time.Second
