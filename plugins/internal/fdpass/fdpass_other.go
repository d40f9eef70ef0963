//go:build !unix

package fdpass

import (
	"errors"
	"net"
	"os"
	"time"
)

// Supported reports whether descriptor passing works on this OS.
const Supported = false

var errUnsupported = errors.New("fdpass: descriptor passing is not supported on this OS; use streamed stdio")

// Pair is not supported on this OS.
func Pair() (host, plugin *os.File, err error) { return nil, nil, errUnsupported }

// Send is not supported on this OS.
func Send(sock *os.File, ticket string, files []*os.File) error { return errUnsupported }

// Receiver is not supported on this OS.
type Receiver struct{}

// Listen is not supported on this OS; the receiver it returns fails every Take.
func Listen(sock *os.File) *Receiver { return &Receiver{} }

// Serve is not supported on this OS; the receiver it returns fails every Take.
func Serve(l *net.UnixListener, check func(*net.UnixConn) error) *Receiver { return &Receiver{} }

// SendTo is not supported on this OS.
// Dial is not supported here.
func Dial(addr string, check func(*net.UnixConn) error) (*os.File, error) {
	return nil, errUnsupported
}

// SendTo is not supported here.
func SendTo(addr string, check func(*net.UnixConn) error, ticket string, files []*os.File) error {
	return errUnsupported
}

// Take always fails on this OS.
func (r *Receiver) Take(ticket string, timeout time.Duration) ([]*os.File, error) {
	return nil, errUnsupported
}
