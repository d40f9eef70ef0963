package fdpass

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// listen listens like an agent's descriptor socket, in a directory of its
// own (short: socket paths are limited).
func listen(t *testing.T) (*net.UnixListener, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "fdpass-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := filepath.Join(dir, "fd")
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: addr, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, addr
}

// A host that keeps one connection to an agent sends every run's batch on
// it; each arrives under its ticket, carrying working descriptors.
func TestServe_ManyBatchesOnOneConnection(t *testing.T) {
	l, addr := listen(t)
	accept := func(*net.UnixConn) error { return nil }
	recv := Serve(l, accept)

	conn, err := Dial(addr, accept)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, ticket := range []string{"one", "two", "three"} {
		r, w := pipe(t)
		if err := Send(conn, ticket, []*os.File{w}); err != nil {
			t.Fatalf("batch %s: %v", ticket, err)
		}
		got, err := recv.Take(ticket, 10*time.Second)
		if err != nil || len(got) != 1 {
			t.Fatalf("batch %s: %d files, %v", ticket, len(got), err)
		}
		if _, err := got[0].WriteString(ticket); err != nil {
			t.Fatal(err)
		}
		got[0].Close()
		w.Close()
		b, _ := io.ReadAll(r)
		if string(b) != ticket {
			t.Errorf("batch %s: the passed descriptor wrote %q", ticket, b)
		}
	}
}

func TestDial_RefusedPeerGetsNoConnection(t *testing.T) {
	_, addr := listen(t)
	no := errors.New("not the agent")
	if c, err := Dial(addr, func(*net.UnixConn) error { return no }); !errors.Is(err, no) || c != nil {
		t.Fatalf("Dial = %v, %v; want the check's refusal and no connection", c, err)
	}
}
