//go:build linux

package host

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sbxdev/sbx/core"
	pb "github.com/sbxdev/sbx/plugins/proto/backendv1"
)

// brokenRunStream is a Run stream whose Send broke: its Recv gives the
// status gRPC keeps for it.
type brokenRunStream struct {
	pb.Backend_RunClient
	status error
}

func (s brokenRunStream) Recv() (*pb.RunOutput, error) { return nil, s.status }

// A Send that fails with io.EOF (the plugin died, and go-plugin may not
// have noticed yet) is reported with the stream's real status: a dead
// plugin is ErrBackendExited, not a bare "EOF".
func TestSendErr_EOFTakesTheStreamsStatus(t *testing.T) {
	h := newHost(t, Options{})
	b, err := h.Open(context.Background(), "none")
	must(t, err)
	gone := status.Error(codes.Unavailable, "error reading from server: EOF")
	if err := b.sendErr(brokenRunStream{status: gone}, io.EOF); !errors.Is(err, core.ErrBackendExited) {
		t.Errorf("Send gave io.EOF, Recv Unavailable: got %v, want ErrBackendExited", err)
	}
	other := errors.New("some other failure")
	if err := b.sendErr(brokenRunStream{status: gone}, other); !errors.Is(err, other) {
		t.Errorf("a Send error other than io.EOF must be kept: got %v", err)
	}
}
