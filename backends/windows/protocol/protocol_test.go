package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/sbxdev/sbx/core"
)

type rw struct {
	bytes.Buffer
}

func TestConn_RoundTripEveryType(t *testing.T) {
	var buf rw
	c := NewConn(&buf)
	if err := c.WriteJSON(THello, Hello{Nonce: "abc", PID: 42, Version: Version}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteJSON(TSpawn, Spawn{Argv: []string{"cmd", "/c", "echo hi"}, TTY: &Resize{Rows: 24, Cols: 80}}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteData(TStdout, []byte("out")); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteRaw(TStdinEOF, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteJSON(TExit, Exit{ExitCode: 3}); err != nil {
		t.Fatal(err)
	}
	var h Hello
	f := mustRead(t, c, THello)
	if err := Decode(f, &h); err != nil || h.Nonce != "abc" || h.PID != 42 || h.Version != Version {
		t.Fatalf("hello = %+v, %v", h, err)
	}
	var s Spawn
	if err := Decode(mustRead(t, c, TSpawn), &s); err != nil || len(s.Argv) != 3 || s.TTY.Cols != 80 {
		t.Fatalf("spawn = %+v, %v", s, err)
	}
	if f := mustRead(t, c, TStdout); string(f.Payload) != "out" {
		t.Fatalf("stdout payload %q", f.Payload)
	}
	if f := mustRead(t, c, TStdinEOF); len(f.Payload) != 0 {
		t.Fatalf("eof payload %q", f.Payload)
	}
	var e Exit
	if err := Decode(mustRead(t, c, TExit), &e); err != nil || e.ExitCode != 3 {
		t.Fatalf("exit = %+v, %v", e, err)
	}
	if _, err := c.Read(); err != io.EOF {
		t.Fatalf("after the last frame: got %v, want io.EOF", err)
	}
}

func mustRead(t *testing.T, c *Conn, want Type) Frame {
	t.Helper()
	f, err := c.Read()
	if err != nil {
		t.Fatalf("read %s: %v", want, err)
	}
	if f.Type != want {
		t.Fatalf("got frame %s, want %s", f.Type, want)
	}
	return f
}

func frame(length uint32, body []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, length)
	return append(b, body...)
}

func TestReadFrame_RejectsMalformed(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"TooLargeBeforeAllocating", frame(MaxFrame+1, nil), "larger than"},
		{"HugeLength", frame(0xFFFFFFFF, nil), "larger than"},
		{"EmptyBody", frame(0, nil), "no version"},
		{"OnlyVersion", frame(1, []byte{Version}), "no version"},
		{"WrongVersion", frame(2, []byte{Version + 1, byte(TStdout)}), "protocol version"},
		{"UnknownType", frame(2, []byte{Version, 200}), "unknown frame type"},
		{"ZeroType", frame(2, []byte{Version, 0}), "unknown frame type"},
		{"TruncatedBody", frame(10, []byte{Version, byte(TStdout), 'x'}), "truncated frame"},
		{"TruncatedHeader", []byte{5, 0}, "truncated frame header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFrame(bytes.NewReader(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if !errors.Is(err, core.ErrProtocol) {
				t.Fatalf("%v does not match core.ErrProtocol", err)
			}
		})
	}
}

func TestReadFrame_MaxFrameAccepted(t *testing.T) {
	body := make([]byte, MaxFrame)
	body[0], body[1] = Version, byte(TStdout)
	f, err := ReadFrame(bytes.NewReader(frame(MaxFrame, body)))
	if err != nil || len(f.Payload) != MaxFrame-2 {
		t.Fatalf("got %d bytes, %v", len(f.Payload), err)
	}
}

func TestConn_WriteRawRefusesOversize(t *testing.T) {
	var buf rw
	err := NewConn(&buf).WriteRaw(TStdout, make([]byte, MaxFrame))
	if !errors.Is(err, ErrFrameTooLarge) || buf.Len() != 0 {
		t.Fatalf("got %v with %d bytes written", err, buf.Len())
	}
}

func TestConn_WriteDataSplitsLargeStreams(t *testing.T) {
	var buf rw
	c := NewConn(&buf)
	data := bytes.Repeat([]byte("x"), 3*MaxData+7)
	if _, err := (StreamWriter{C: c, T: TStderr}).Write(data); err != nil {
		t.Fatal(err)
	}
	var got []byte
	frames := 0
	for {
		f, err := c.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Type != TStderr || len(f.Payload) > MaxData {
			t.Fatalf("frame %s of %d bytes", f.Type, len(f.Payload))
		}
		frames++
		got = append(got, f.Payload...)
	}
	if frames != 4 || !bytes.Equal(got, data) {
		t.Fatalf("%d frames, %d bytes; want 4 frames, %d bytes", frames, len(got), len(data))
	}
}

// lockedBuf is a writer that records each Write call separately, to check
// that concurrent writers never interleave inside a frame.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) Read(p []byte) (int, error) { return l.b.Read(p) }

func TestConn_ConcurrentWritersKeepFramesWhole(t *testing.T) {
	var lb lockedBuf
	c := NewConn(&lb)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				_ = c.WriteData(TStdout, bytes.Repeat([]byte{byte('a' + i)}, 100))
			}
		}(i)
	}
	wg.Wait()
	n := 0
	for {
		f, err := ReadFrame(&lb.b)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.Payload, bytes.Repeat(f.Payload[:1], 100)) {
			t.Fatalf("interleaved frame: %q", f.Payload)
		}
		n++
	}
	if n != 400 {
		t.Fatalf("%d frames, want 400", n)
	}
}

func TestDecode_BadJSONIsProtocolError(t *testing.T) {
	var e Exit
	err := Decode(Frame{Type: TExit, Payload: []byte("{")}, &e)
	if !errors.Is(err, core.ErrProtocol) {
		t.Fatalf("got %v", err)
	}
}

func TestType_String(t *testing.T) {
	if THello.String() != "hello" || Type(99).String() != "type(99)" {
		t.Fatal(THello.String(), Type(99).String())
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(frame(2, []byte{Version, byte(TStdout)}))
	f.Add(frame(MaxFrame+1, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ReadFrame(bytes.NewReader(b))
		if err == nil && len(fr.Payload)+2 > MaxFrame {
			t.Fatal("accepted an oversize frame")
		}
	})
}
