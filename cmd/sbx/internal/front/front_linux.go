package front

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Signals are the signals the front end catches and forwards to the agent:
// the ones `sbx run` passes on to the command, and the terminal resize.
var Signals = []syscall.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// Dir returns the private per-user directory where agents listen:
// $XDG_RUNTIME_DIR/sbx-agents-UID, or under $TMPDIR (else /tmp) without
// XDG_RUNTIME_DIR. It is the plugin agents' directory too.
func Dir(getenv func(string) string) string {
	base := getenv("XDG_RUNTIME_DIR")
	if base == "" {
		base = getenv("TMPDIR")
	}
	if base == "" {
		base = "/tmp"
	}
	return filepath.Join(base, "sbx-agents-"+strconv.Itoa(os.Getuid()))
}

// SocketPath returns the socket of the agent that serves the full CLI at
// cli for a client with the environment environ. The name depends on the
// binary (path, device, inode, size, modification time), so that a new or
// rebuilt sbx never talks to an agent still running the old one, and on
// EnvKey(environ).
func SocketPath(cli string, environ []string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(cli, &st); err != nil {
		return "", &os.PathError{Op: "stat", Path: cli, Err: err}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00%d.%d\x00%s", cli, st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, EnvKey(environ))
	getenv := func(k string) string {
		v, _ := Lookup(environ, k)
		return v
	}
	return filepath.Join(Dir(getenv), "front-"+hex.EncodeToString(h.Sum(nil)[:8])+".sock"), nil
}

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

// peerUID returns the user id of the process at the other end of fd.
func peerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}

// Client is the front end's connection to an agent.
type Client struct {
	fd   int
	file *os.File // owns fd; reads go through it
	mu   sync.Mutex
}

// Dial connects to the agent at path and checks that it runs as this user.
func Dial(path string) (*Client, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	uid, err := peerUID(fd)
	if err == nil && uid != os.Getuid() {
		err = fmt.Errorf("the agent at %s runs as uid %d, not %d", path, uid, os.Getuid())
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &Client{fd: fd, file: os.NewFile(uintptr(fd), path)}, nil
}

// Send sends the request with the descriptors of the standard streams.
func (c *Client) Send(r Request, stdio [3]int) error {
	b, err := encodeRequest(r)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := unix.SendmsgN(c.fd, b, unix.UnixRights(stdio[:]...), nil, 0)
	if err != nil {
		return err
	}
	return writeAll(c.fd, b[n:])
}

// Signal forwards a signal to the agent.
func (c *Client) Signal(s syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return writeAll(c.fd, frame(frameSignal, []byte{byte(s)}))
}

// Wait returns the agent's answer. An agent that hangs up without one gives
// io.ErrUnexpectedEOF.
func (c *Client) Wait() (Reply, error) {
	t, payload, err := readFrame(c.file)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return Reply{}, err
	}
	return decodeReply(t, payload)
}

// Close closes the connection.
func (c *Client) Close() error { return c.file.Close() }

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// Listener accepts front-end connections.
type Listener struct {
	l *net.UnixListener
	// Check vets a new connection's peer before anything is read from it;
	// a connection it refuses is closed. The agent refuses other users and
	// sandboxed processes: a command inside a sandbox must never be able to
	// ask the agent to run something with a looser policy.
	Check func(*net.UnixConn) error
}

// Listen listens on the socket at path, replacing a stale socket file. The
// socket is made accessible to its owner only.
func Listen(path string) (*Listener, error) {
	_ = os.Remove(path)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	l.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return &Listener{l: l}, nil
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
				_, _ = c.Write(frame(frameFallback, []byte("refused: "+err.Error())))
				c.Close()
				continue
			}
		}
		return &Conn{c: c}, nil
	}
}

// Close stops listening and removes the socket file.
func (l *Listener) Close() error { return l.l.Close() }

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
func (c *Conn) Request() (Request, [3]*os.File, error) {
	var files [3]*os.File
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := c.c.ReadMsgUnix(buf, oob)
	if err != nil {
		return Request{}, files, err
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
		return Request{}, files, fmt.Errorf("%w: request with %d descriptors, want 3", ErrProtocol, len(fds))
	}
	if n == 0 {
		closeFDs()
		return Request{}, files, io.ErrUnexpectedEOF
	}
	c.r = io.MultiReader(bytes.NewReader(buf[:n]), c.c)
	t, payload, err := readFrame(c.r)
	if err == nil && t != frameRequest {
		err = fmt.Errorf("%w: first frame of type %q, want a request", ErrProtocol, t)
	}
	var r Request
	if err == nil {
		if jerr := json.Unmarshal(payload, &r); jerr != nil {
			err = fmt.Errorf("%w: request: %v", ErrProtocol, jerr)
		}
	}
	if err != nil {
		closeFDs()
		return Request{}, files, err
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
			t, payload, err := readFrame(r)
			if err != nil || t != frameSignal || len(payload) != 1 {
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
func (c *Conn) Exit(code int) error { return c.answer(exitFrame(code)) }

// Fallback tells the client that nothing ran and it must run the full CLI.
func (c *Conn) Fallback(reason string) error {
	return c.answer(frame(frameFallback, []byte(reason)))
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
