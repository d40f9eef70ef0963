package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The configuration travels from the plugin to the helper in a small
// binary form instead of JSON: encoding/json's first use in a fresh
// process (reflection over every type) cost the helper ≈ 0.3 ms per run,
// about as much as everything else it does before the command starts.
//
// Layout: configMagic, the version (uvarint), then the fields of Config
// in declaration order: integers as uvarints, booleans as one byte,
// strings and byte slices as a uvarint length and the bytes, lists as a
// uvarint count and the elements, an optional struct as a presence byte
// and the struct. Nothing may follow the last field.

// configMagic starts every binary configuration. It is not valid JSON, so
// a helper of an older build (which read JSON) refuses it instead of
// misreading it, and a helper of this build recognises the JSON of an
// older plugin (it starts with '{') and says so.
const configMagic = "\x00sbxcfg"

// MarshalBinary encodes c for the helper (see [Config.UnmarshalBinary]).
func (c *Config) MarshalBinary() ([]byte, error) {
	var w writer
	w.b = append(w.b, configMagic...)
	w.uint(uint64(c.Version))
	w.uint(uint64(len(c.Mounts)))
	for _, m := range c.Mounts {
		w.str(m.Op)
		w.str(m.Source)
		w.str(m.Target)
		w.str(m.Options)
	}
	w.bool(c.Loopback)
	w.bool(c.DropCapabilities)
	w.bool(c.Landlock != nil)
	if ll := c.Landlock; ll != nil {
		w.uint(uint64(ll.ABI))
		w.uint(ll.HandledFS)
		w.uint(ll.HandledNet)
		w.uint(ll.Scoped)
		w.uint(uint64(len(ll.Rules)))
		for _, r := range ll.Rules {
			w.str(r.Path)
			w.bool(r.Dir)
			w.uint(r.Access)
		}
		w.uint(ll.Terminal)
	}
	w.bool(c.Seccomp != nil)
	if c.Seccomp != nil {
		w.bytes(c.Seccomp.BPF)
	}
	w.str(c.Path)
	w.strs(c.Argv)
	w.str(c.Dir)
	w.strs(c.Env)
	return w.b, nil
}

// errOtherBuild is returned by UnmarshalBinary for a configuration of
// another format or version: the plugin and the helper come from
// different builds.
var errOtherBuild = errors.New("configuration of another build")

// UnmarshalBinary decodes what [Config.MarshalBinary] encoded. A
// configuration of another version (or the JSON of an older plugin) fails
// with an error wrapping errOtherBuild, after setting c.Version when it
// could be read; a truncated or malformed one fails too.
func (c *Config) UnmarshalBinary(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		return fmt.Errorf("%w: JSON from an older plugin", errOtherBuild)
	}
	if len(b) < len(configMagic) || string(b[:len(configMagic)]) != configMagic {
		return fmt.Errorf("%w: not a sandbox configuration", errOtherBuild)
	}
	r := reader{b: b[len(configMagic):]}
	*c = Config{Version: int(r.uint())}
	if r.err != nil {
		return r.err
	}
	if c.Version != Version {
		return fmt.Errorf("%w: version %d", errOtherBuild, c.Version)
	}
	n := r.count()
	for i := 0; i < n; i++ {
		c.Mounts = append(c.Mounts, Mount{Op: r.str(), Source: r.str(), Target: r.str(), Options: r.str()})
	}
	c.Loopback = r.bool()
	c.DropCapabilities = r.bool()
	if r.bool() {
		ll := &Landlock{ABI: int(r.uint()), HandledFS: r.uint(), HandledNet: r.uint(), Scoped: r.uint()}
		n := r.count()
		for i := 0; i < n; i++ {
			ll.Rules = append(ll.Rules, Rule{Path: r.str(), Dir: r.bool(), Access: r.uint()})
		}
		ll.Terminal = r.uint()
		c.Landlock = ll
	}
	if r.bool() {
		c.Seccomp = &Seccomp{BPF: r.bytes()}
	}
	c.Path = r.str()
	c.Argv = r.strs()
	c.Dir = r.str()
	c.Env = r.strs()
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes after the configuration", len(r.b))
	}
	return r.err
}

// writer appends the encoding of values to b.
type writer struct{ b []byte }

func (w *writer) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }

func (w *writer) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

func (w *writer) str(s string) {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *writer) bytes(p []byte) {
	w.uint(uint64(len(p)))
	w.b = append(w.b, p...)
}

func (w *writer) strs(l []string) {
	w.uint(uint64(len(l)))
	for _, s := range l {
		w.str(s)
	}
}

// reader decodes values from b; after the first error every read returns
// a zero value and err stays set.
type reader struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated configuration")

func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bool() bool {
	if r.err != nil {
		return false
	}
	if len(r.b) == 0 || r.b[0] > 1 {
		r.err = errTruncated
		return false
	}
	v := r.b[0] == 1
	r.b = r.b[1:]
	return v
}

// count reads a number of elements; each takes at least one byte, so a
// count larger than what is left is malformed (and is not allocated).
func (r *reader) count() int {
	n := r.uint()
	if n > uint64(len(r.b)) {
		if r.err == nil {
			r.err = errTruncated
		}
		return 0
	}
	return int(n)
}

func (r *reader) bytes() []byte {
	n := r.count()
	if r.err != nil {
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) str() string { return string(r.bytes()) }

func (r *reader) strs() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = r.str()
	}
	return l
}

// encodeStatus writes st as the JSON object encoding/json would make of
// it (the plugin decodes it with encoding/json), without encoding/json in
// the helper: its first use there cost ≈ 0.1 ms at the end of every
// namespaces run.
func encodeStatus(st Status) []byte {
	b := []byte{'{'}
	sep := func() {
		if len(b) > 1 {
			b = append(b, ',')
		}
	}
	if st.Error != "" {
		b = append(b, `"error":`...)
		b = appendJSONString(b, st.Error)
	}
	if st.Class != "" {
		sep()
		b = append(b, `"class":`...)
		b = appendJSONString(b, st.Class)
	}
	if st.Exit != nil {
		sep()
		b = append(b, `"exit":`...)
		b = strconv.AppendInt(b, int64(*st.Exit), 10)
	}
	if st.Signal != 0 {
		sep()
		b = append(b, `"signal":`...)
		b = strconv.AppendInt(b, int64(st.Signal), 10)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD (as
// encoding/json does).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
