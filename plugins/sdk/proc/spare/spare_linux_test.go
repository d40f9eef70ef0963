package spare

import (
	"strings"
	"testing"
)

func TestDecode_ReadsWhatEncodeWrote(t *testing.T) {
	for _, h := range []Header{
		{},
		{Flags: FlagCtty, Dir: "/work/project"},
		{Flags: FlagUmask, Umask: 0o027, Dir: "/tmp/a dir with spaces/é"},
		{Flags: FlagCtty | FlagUmask, Umask: 0o777},
	} {
		got, err := Decode(h.Encode())
		if err != nil || got != h {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", h, got, err)
		}
	}
}

func TestDecode_RefusesBadMessages(t *testing.T) {
	good := Header{Flags: FlagUmask, Umask: 0o022, Dir: "/w"}.Encode()
	with := func(i int, b byte) []byte {
		m := append([]byte(nil), good...)
		m[i] = b
		return m
	}
	for name, msg := range map[string][]byte{
		"empty":                {},
		"shorter than header":  good[:headerSize-1],
		"another version":      with(0, Version+1),
		"unknown flag":         with(1, 0x80),
		"umask beyond 0777":    Header{Flags: FlagUmask, Umask: 0o1000}.Encode(),
		"NUL in the directory": Header{Dir: "/w\x00/x"}.Encode(),
		"longer than any":      Header{Dir: "/" + strings.Repeat("d", maxMessage)}.Encode(),
	} {
		if h, err := Decode(msg); err == nil {
			t.Errorf("%s: accepted as %+v", name, h)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Header{Flags: FlagCtty | FlagUmask, Umask: 0o022, Dir: "/w"}.Encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever is accepted reads back the same.
		if again, err := Decode(h.Encode()); err != nil || again != h {
			t.Errorf("accepted %q as %+v, which does not read back: %+v %v", b, h, again, err)
		}
	})
}
