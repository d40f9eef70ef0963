package frontagent

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/cmd/sbx/internal/front"
)

func listen(t *testing.T) (*Listener, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "front-") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func pipeFDs(t *testing.T) ([3]int, [3]*os.File) {
	t.Helper()
	var fds [3]int
	var ends [3]*os.File
	for i := range fds {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		fds[i], ends[i] = int(w.Fd()), r
	}
	return fds, ends
}

func TestRequest_ArrivesWithItsDescriptorsAndSignalsAndTheExitGoesBack(t *testing.T) {
	l, path := listen(t)
	fds, readEnds := pipeFDs(t)
	want := front.Request{Version: front.Version, Args: []string{"run", "--", "a b", "ü"}, Env: []string{"A=1", "B="}, Dir: "/x"}

	type served struct {
		req  front.Request
		sigs []syscall.Signal
		err  error
	}
	done := make(chan served, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- served{err: err}
			return
		}
		defer c.Close()
		req, files, err := c.Request()
		if err != nil {
			done <- served{err: err}
			return
		}
		// The descriptors are the client's: a write lands in its pipes.
		for i, f := range files {
			f.WriteString([]string{"0", "1", "2"}[i])
			f.Close()
		}
		ch := c.Signals()
		var sigs []syscall.Signal
		for len(sigs) < 2 {
			sigs = append(sigs, <-ch)
		}
		done <- served{req: req, sigs: sigs, err: c.Exit(130)}
	}()

	c, err := front.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(want, fds); err != nil {
		t.Fatal(err)
	}
	for _, s := range []syscall.Signal{unix.SIGINT, unix.SIGWINCH} {
		if err := c.Signal(s); err != nil {
			t.Fatal(err)
		}
	}
	reply, err := c.Wait()
	if err != nil || reply.Fallback || reply.Code != 130 {
		t.Fatalf("reply %+v, %v; want exit 130", reply, err)
	}
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	if strings.Join(got.req.Args, "|") != strings.Join(want.Args, "|") || strings.Join(got.req.Env, "|") != strings.Join(want.Env, "|") || got.req.Dir != want.Dir {
		t.Errorf("request %+v, want %+v", got.req, want)
	}
	if len(got.sigs) != 2 || got.sigs[0] != unix.SIGINT || got.sigs[1] != unix.SIGWINCH {
		t.Errorf("signals %v, want INT then WINCH", got.sigs)
	}
	for i, r := range readEnds {
		b := make([]byte, 1)
		if _, err := io.ReadFull(r, b); err != nil || string(b) != []string{"0", "1", "2"}[i] {
			t.Errorf("stream %d: read %q, %v", i, b, err)
		}
	}
}

func TestAccept_RefusedPeerIsToldToFallBackAndGivesNothing(t *testing.T) {
	l, path := listen(t)
	l.Check = func(*net.UnixConn) error { return errors.New("no") }
	go l.Accept() // refuses, then blocks on the next connection
	c, err := front.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fds, _ := pipeFDs(t)
	_ = c.Send(front.Request{Version: front.Version, Dir: "/"}, fds) // may fail: the server hung up
	reply, err := c.Wait()
	if err != nil || !reply.Fallback || !strings.Contains(reply.Reason, "refused") {
		t.Fatalf("reply %+v, %v; want a fallback saying refused", reply, err)
	}
}

func TestRequest_MalformedInputIsAProtocolError(t *testing.T) {
	huge := make([]byte, 5)
	binary.BigEndian.PutUint32(huge, 16<<20+1)
	for name, msg := range map[string][]byte{
		"OversizedFrame":    huge,
		"ZeroLengthFrame":   {0, 0, 0, 0},
		"NotARequest":       frame(front.FrameSignal, []byte{2}),
		"RequestTooShort":   frame(front.FrameRequest, []byte{0, 0}),
		"TruncatedRequest":  frame(front.FrameRequest, []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9, '/'}),
		"ListCountTooLarge": frame(front.FrameRequest, []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, '/', 0xff, 0xff, 0xff, 0xff}),
	} {
		t.Run(name, func(t *testing.T) {
			l, path := listen(t)
			errc := requestError(l)
			fd := rawClient(t, path)
			fds, _ := pipeFDs(t)
			if err := unix.Sendmsg(fd, msg, unix.UnixRights(fds[:]...), nil, 0); err != nil {
				t.Fatal(err)
			}
			unix.Shutdown(fd, unix.SHUT_WR)
			if err := <-errc; err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// requestError accepts one connection on l and sends what reading its
// request returned.
func requestError(l *Listener) <-chan error {
	errc := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		_, _, err = c.Request()
		errc <- err
	}()
	return errc
}

// rawClient connects to path without the front end's client, to send
// whatever a test wants; the socket is closed when the test ends.
func rawClient(t *testing.T, path string) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	return fd
}

// frame builds a raw frame, for feeding the agent what a client could.
func frame(t byte, payload []byte) []byte {
	b := make([]byte, 5+len(payload))
	binary.BigEndian.PutUint32(b, uint32(1+len(payload)))
	b[4] = t
	copy(b[5:], payload)
	return b
}

// A front end that connects and then sends nothing must not hold the agent
// (its idle timer waits for every connection being served).
func TestRequest_AClientThatSendsNothingIsDroppedAfterTheTimeout(t *testing.T) {
	defer func(d time.Duration) { requestTimeout = d }(requestTimeout)
	requestTimeout = 100 * time.Millisecond
	l, path := listen(t)
	errc := requestError(l)
	rawClient(t, path)
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a request was read from a silent client")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the agent still waits for a silent client")
	}
}

// The socket file appears only once it listens (a front end that found it
// and got "connection refused" would run cold), and goes with Close.
func TestListen_TheSocketFileMeansListeningAndGoesWithClose(t *testing.T) {
	l, path := listen(t)
	if matches, _ := filepath.Glob(path + ".*.tmp"); len(matches) != 0 {
		t.Errorf("temporary socket names left: %v", matches)
	}
	rawClient(t, path) // connects: it listens
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v: want mode 0600", fi, err)
	}
	l.Close()
	l.Close() // twice is fine
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket file outlived Close: %v", err)
	}
}
