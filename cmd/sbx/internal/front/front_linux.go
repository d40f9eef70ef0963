package front

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/plugins/agentenv"
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
// cli for a client with the environment environ: in the agent directory
// its XDG_RUNTIME_DIR (else TMPDIR) selects, named after the binary (path,
// device, inode, size, modification time), so that a new or rebuilt sbx
// never talks to an agent still running the old one, and after the process
// context (agentenv.ProcessContext): the command inherits cgroups, groups, limits
// and nice value from the agent, so callers whose contexts differ get
// different agents. Within one context, one agent serves every
// environment; inside, it keeps a plugin host per EnvKey.
func SocketPath(cli string, environ []string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(cli, &st); err != nil {
		return "", &os.PathError{Op: "stat", Path: cli, Err: err}
	}
	// FNV, not a cryptographic hash: the name only has to differ between
	// binaries; the directory is private (and linking crypto would cost
	// the front end's start-up more than it hashes).
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00%d.%d\x00%s", cli, st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, agentenv.ProcessContext())
	getenv := func(k string) string {
		v, _ := Lookup(environ, k)
		return v
	}
	return filepath.Join(Dir(getenv), "front-"+strconv.FormatUint(h.Sum64(), 16)+".sock"), nil
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
	return writeAll(c.fd, frame(FrameSignal, []byte{byte(s)}))
}

// Wait returns the agent's answer. An agent that hangs up without one gives
// io.ErrUnexpectedEOF.
func (c *Client) Wait() (Reply, error) {
	t, payload, err := ReadFrame(c.file)
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
