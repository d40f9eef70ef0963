package front

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sbxdev/sbx/plugins/agentenv"
)

// Version is the protocol version a Request carries. A server that does not
// speak it answers with a fallback.
const Version = 1

// EnvSocket names the environment variable through which the front end tells
// the full CLI it runs on the cold path (no agent answered): its value is
// the socket an agent should listen on, and the CLI may start one there for
// the next commands.
const EnvSocket = "SBX_FRONT_SOCKET"

// EnvDisable, set to "0", makes the front end skip the agent and always run
// the full CLI (for debugging, or to measure the cold path).
const EnvDisable = "SBX_FRONT"

// KeyEnv reports whether the environment variable k takes part in choosing
// a plugin host inside the agent: the variables plugin agents are keyed by
// (agentenv.Var) and the plugin search path. Requests whose values of these
// differ get different plugin hosts (and so different plugin agents).
func KeyEnv(k string) bool { return agentenv.Var(k) || k == EnvPluginPath }

// EnvPluginPath is plugins/host's EnvPluginPath, the plugin search path
// (a test in cmd/sbx keeps the two equal).
const EnvPluginPath = "SBX_PLUGIN_PATH"

// EnvKey returns the KeyEnv variables of environ, sorted: equal keys mean
// the same plugin-agent environment.
func EnvKey(environ []string) string {
	var kept []string
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); KeyEnv(k) {
			kept = append(kept, kv)
		}
	}
	sort.Strings(kept)
	return strings.Join(kept, "\x00")
}

// Lookup returns the value of the variable k in environ ("K=V" entries; the
// last one wins, as with os.Setenv and execve).
func Lookup(environ []string, k string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], k+"="); ok {
			return v, true
		}
	}
	return "", false
}

// maxFrame bounds a frame so that a confused or hostile peer cannot make the
// other end allocate without limit. A request carries the arguments and the
// environment, which the kernel already limits to a few MiB (ARG_MAX).
const maxFrame = 16 << 20

// Frame types.
const (
	// FrameRequest carries the Request (client to agent).
	FrameRequest = 'R'
	// FrameSignal carries one signal number (client to agent).
	FrameSignal = 'S'
	frameExit   = 'X'
	// frameFallback: see EncodeFallback.
	frameFallback = 'F'
)

// Request is what the front end asks the agent to run: sbx's own command
// line (without the program name), environment and current directory. The
// standard streams travel beside it as descriptors.
type Request struct {
	// Version is the protocol version (Version).
	Version int
	// Args are sbx's arguments, as in os.Args[1:].
	Args []string
	// Env is the client's environment, as in os.Environ().
	Env []string
	// Dir is the client's current directory (absolute).
	Dir string
	// Umask is the client's file mode creation mask.
	Umask *uint32
}

// Validate reports what is wrong with a request a server received.
func (r Request) Validate() error {
	if r.Version != Version {
		return fmt.Errorf("protocol version %d, this agent speaks %d", r.Version, Version)
	}
	if r.Dir == "" || r.Dir[0] != '/' {
		return fmt.Errorf("current directory %q is not absolute", r.Dir)
	}
	return nil
}

// Reply is the server's one answer.
type Reply struct {
	// Fallback means the server ran nothing: the client runs the full CLI.
	Fallback bool
	// Reason says why, for a fallback.
	Reason string
	// Code is sbx's exit status, when not a fallback.
	Code int
}

// ErrProtocol: the peer sent something this end does not understand.
var ErrProtocol = errors.New("sbx front protocol error")

// frame encodes one frame of type t.
func frame(t byte, payload []byte) []byte {
	b := make([]byte, 5+len(payload))
	binary.BigEndian.PutUint32(b, uint32(1+len(payload)))
	b[4] = t
	copy(b[5:], payload)
	return b
}

// ReadFrame reads one frame from r: its type and payload.
func ReadFrame(r io.Reader) (t byte, payload []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size == 0 || size > maxFrame {
		return 0, nil, fmt.Errorf("%w: frame of %d bytes", ErrProtocol, size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return body[0], body[1:], nil
}

// encodeRequest is the request frame. The payload is binary, not JSON:
// encoding/json's first use in a fresh process (reflection over the type)
// costs more than the rest of the front end's work before it sends. Layout,
// big-endian: version u32; umask flag u8 (1: present) and umask u32; dir;
// args; env; where a string is a u32 length and its bytes, and a list a u32
// count and its strings.
func encodeRequest(r Request) ([]byte, error) {
	n := 4 + 1 + 4 + 4 + len(r.Dir) + 8
	for _, l := range [][]string{r.Args, r.Env} {
		for _, x := range l {
			n += 4 + len(x)
		}
	}
	if n+1 > maxFrame {
		return nil, fmt.Errorf("request of %d bytes is larger than %d", n, maxFrame)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(r.Version))
	if r.Umask != nil {
		b = append(b, 1)
		b = binary.BigEndian.AppendUint32(b, *r.Umask)
	} else {
		b = append(b, 0, 0, 0, 0, 0)
	}
	b = appendString(b, r.Dir)
	for _, l := range [][]string{r.Args, r.Env} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
		for _, x := range l {
			b = appendString(b, x)
		}
	}
	return frame(FrameRequest, b), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// DecodeRequest decodes encodeRequest's payload; every length is checked
// against what is left, so a malformed payload is an error, never a panic
// or a large allocation.
func DecodeRequest(p []byte) (Request, error) {
	var r Request
	bad := func(what string) (Request, error) {
		return Request{}, fmt.Errorf("%w: request: %s", ErrProtocol, what)
	}
	u32 := func() (uint32, bool) {
		if len(p) < 4 {
			return 0, false
		}
		v := binary.BigEndian.Uint32(p)
		p = p[4:]
		return v, true
	}
	str := func() (string, bool) {
		n, ok := u32()
		if !ok || uint64(n) > uint64(len(p)) {
			return "", false
		}
		s := string(p[:n])
		p = p[n:]
		return s, true
	}
	list := func() ([]string, bool) {
		n, ok := u32()
		// Each string takes at least its 4-byte length.
		if !ok || uint64(n)*4 > uint64(len(p)) {
			return nil, false
		}
		out := make([]string, 0, n)
		for i := uint32(0); i < n; i++ {
			s, ok := str()
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	v, ok := u32()
	if !ok {
		return bad("truncated version")
	}
	r.Version = int(v)
	if r.Version != Version {
		return r, nil // Validate says so; the rest may be laid out otherwise
	}
	if len(p) < 5 {
		return bad("truncated umask")
	}
	has := p[0]
	p = p[1:]
	mask, _ := u32()
	switch has {
	case 1:
		r.Umask = &mask
	case 0:
		if mask != 0 {
			return bad("umask bits without the umask flag")
		}
	default:
		return bad("umask flag is neither 0 nor 1")
	}
	if r.Dir, ok = str(); !ok {
		return bad("truncated directory")
	}
	if r.Args, ok = list(); !ok {
		return bad("truncated arguments")
	}
	if r.Env, ok = list(); !ok {
		return bad("truncated environment")
	}
	if len(p) != 0 {
		return bad(fmt.Sprintf("%d bytes after the environment", len(p)))
	}
	return r, nil
}

// decodeReply decodes the server's answer frame.
func decodeReply(t byte, payload []byte) (Reply, error) {
	switch t {
	case frameExit:
		if len(payload) != 4 {
			return Reply{}, fmt.Errorf("%w: exit frame of %d bytes", ErrProtocol, len(payload))
		}
		return Reply{Code: int(int32(binary.BigEndian.Uint32(payload)))}, nil
	case frameFallback:
		return Reply{Fallback: true, Reason: string(payload)}, nil
	}
	return Reply{}, fmt.Errorf("%w: unexpected frame type %q", ErrProtocol, t)
}

// EncodeFallback is the fallback answer: nothing ran, the client runs the
// full CLI itself.
func EncodeFallback(reason string) []byte { return frame(frameFallback, []byte(reason)) }

// EncodeExit is the exit answer: sbx's exit status.
func EncodeExit(code int) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	return frame(frameExit, b[:])
}
