package protocol

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/sbxdev/sbx/core"
)

// Version is the protocol version carried by every frame.
const Version = 1

// MaxFrame is the largest frame body (version + type + payload) accepted.
const MaxFrame = 1 << 20

// MaxData is the largest stream payload a writer puts in one frame.
const MaxData = 64 << 10

// Type is a frame type.
type Type uint8

// Frame types.
const (
	THello    Type = 1  // runner → plugin, JSON Hello
	TSpawn    Type = 2  // plugin → runner, JSON Spawn
	TStarted  Type = 3  // runner → plugin, JSON Started
	TStdin    Type = 4  // plugin → runner, raw bytes
	TStdinEOF Type = 5  // plugin → runner, empty
	TStdout   Type = 6  // runner → plugin, raw bytes
	TStderr   Type = 7  // runner → plugin, raw bytes
	TSignal   Type = 8  // plugin → runner, JSON Signal
	TResize   Type = 9  // plugin → runner, JSON Resize
	TExit     Type = 10 // runner → plugin, JSON Exit
	TError    Type = 11 // runner → plugin, JSON Error
)

var typeNames = map[Type]string{
	THello: "hello", TSpawn: "spawn", TStarted: "started", TStdin: "stdin", TStdinEOF: "stdin-eof",
	TStdout: "stdout", TStderr: "stderr", TSignal: "signal", TResize: "resize", TExit: "exit", TError: "error",
}

// String is the frame type's name, for messages.
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Hello is the runner's first frame.
type Hello struct {
	Nonce   string `json:"nonce"`
	PID     uint32 `json:"pid"`
	Version int    `json:"version"`
}

// Spawn asks the runner to start the command.
type Spawn struct {
	Argv []string `json:"argv"`
	Dir  string   `json:"dir"`
	// Env is the command's environment ("K=V"), before the runner
	// overlays the sandbox user's profile variables.
	Env []string `json:"env"`
	// RestrictingSIDs, DenyOnlySIDs, DefaultDACL and TokenFlags build the
	// restricted token (from the plan).
	RestrictingSIDs []string `json:"restricting_sids"`
	DenyOnlySIDs    []string `json:"deny_only_sids"`
	DefaultDACL     string   `json:"default_dacl"`
	TokenFlags      uint32   `json:"token_flags"`
	// Desktop and DesktopSDDL are the private desktop.
	Desktop     string `json:"desktop"`
	DesktopSDDL string `json:"desktop_sddl"`
	// Job limits (from the plan).
	JobLimitFlags  uint32 `json:"job_limit_flags"`
	JobMemoryBytes uint64 `json:"job_memory_bytes,omitempty"`
	ActiveProcess  uint32 `json:"active_process,omitempty"`
	CPURate        uint32 `json:"cpu_rate,omitempty"`
	CPURateFlags   uint32 `json:"cpu_rate_flags,omitempty"`
	UILimits       uint32 `json:"ui_limits"`
	TimeoutMillis  int64  `json:"timeout_ms,omitempty"`
	// TTY asks for a pseudo console of this size.
	TTY *Resize `json:"tty,omitempty"`
}

// Started says the command runs (inside its Job).
type Started struct {
	PID uint32 `json:"pid"`
}

// Signal forwards a POSIX signal number: 2 (SIGINT) becomes CTRL_BREAK_EVENT
// to the command's process group (CTRL_C_EVENT cannot be sent to a group),
// or ends the Job when that fails; any other signal ends the Job.
type Signal struct {
	Signal int `json:"signal"`
}

// Resize is a terminal size.
type Resize struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// Exit is how the command ended.
type Exit struct {
	ExitCode int `json:"exit_code"`
	// Signal is the POSIX signal that ended the command (forwarded
	// SIGTERM/SIGKILL, or a cancel), 0 if it exited by itself.
	Signal        int    `json:"signal,omitempty"`
	TimedOut      bool   `json:"timed_out,omitempty"`
	LimitExceeded string `json:"limit_exceeded,omitempty"`
}

// Error is a failure of the runner, with the stage and the Win32 code.
type Error struct {
	Stage   string `json:"stage"`
	Code    uint32 `json:"code"`
	Message string `json:"message"`
}

// Error says at which stage the runner failed, with the Win32 error code.
func (e *Error) Error() string {
	return fmt.Sprintf("runner: %s: %s (Win32 error %d)", e.Stage, e.Message, e.Code)
}

// Frame is one decoded frame.
type Frame struct {
	Type    Type
	Payload []byte
}

// ErrFrameTooLarge is returned for a frame longer than MaxFrame. It matches
// core.ErrProtocol.
var ErrFrameTooLarge = fmt.Errorf("frame larger than %d bytes: %w", MaxFrame, core.ErrProtocol)

// ReadFrame reads one frame. It returns io.EOF only when r ends exactly
// between frames, and an error matching core.ErrProtocol for a malformed
// frame.
func ReadFrame(r io.Reader) (Frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("truncated frame header: %w", core.ErrProtocol)
		}
		return Frame{}, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return Frame{}, ErrFrameTooLarge
	}
	if n < 2 {
		return Frame{}, fmt.Errorf("frame of %d bytes has no version and type: %w", n, core.ErrProtocol)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return Frame{}, fmt.Errorf("truncated frame (%d bytes announced): %w", n, core.ErrProtocol)
	}
	if body[0] != Version {
		return Frame{}, fmt.Errorf("frame of protocol version %d, this side speaks %d (runner and plugin from different sbx versions?): %w", body[0], Version, core.ErrProtocol)
	}
	t := Type(body[1])
	if _, ok := typeNames[t]; !ok {
		return Frame{}, fmt.Errorf("unknown frame type %d: %w", body[1], core.ErrProtocol)
	}
	return Frame{Type: t, Payload: body[2:]}, nil
}

// Conn writes frames to a stream, one at a time (safe for concurrent use),
// and reads them from it (one reader at a time).
type Conn struct {
	r  io.Reader
	w  io.Writer
	mu sync.Mutex
}

// NewConn returns a Conn over rw.
func NewConn(rw io.ReadWriter) *Conn { return &Conn{r: rw, w: rw} }

// Read reads one frame.
func (c *Conn) Read() (Frame, error) { return ReadFrame(c.r) }

// WriteRaw writes one frame with a raw payload, which must fit.
func (c *Conn) WriteRaw(t Type, payload []byte) error {
	if len(payload)+2 > MaxFrame {
		return ErrFrameTooLarge
	}
	buf := make([]byte, 6+len(payload))
	binary.LittleEndian.PutUint32(buf, uint32(2+len(payload)))
	buf[4] = Version
	buf[5] = byte(t)
	copy(buf[6:], payload)
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.w.Write(buf)
	return err
}

// WriteJSON writes one frame with v encoded as JSON.
func (c *Conn) WriteJSON(t Type, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s frame: %w", t, err)
	}
	return c.WriteRaw(t, b)
}

// WriteData writes stream bytes, split into frames of at most MaxData.
func (c *Conn) WriteData(t Type, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), MaxData)
		if err := c.WriteRaw(t, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// Decode unmarshals a JSON frame payload into v. Unknown fields are
// ignored: additions within one Version are optional by rule, and anything
// that changes meaning bumps Version.
func Decode(f Frame, v any) error {
	if err := json.Unmarshal(f.Payload, v); err != nil {
		return fmt.Errorf("bad %s frame: %v: %w", f.Type, err, core.ErrProtocol)
	}
	return nil
}

// StreamWriter is an io.Writer that sends its bytes as frames of type T.
type StreamWriter struct {
	C *Conn
	T Type
}

// Write implements io.Writer.
func (s StreamWriter) Write(p []byte) (int, error) {
	if err := s.C.WriteData(s.T, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
