package front

import (
	"reflect"
	"testing"
)

func TestRequest_EncodingRoundTripsAndRefusesEveryTruncation(t *testing.T) {
	mask := uint32(0o027)
	for _, r := range []Request{
		{Version: Version, Args: []string{"run", "--", "sh", "-c", "echo ü\x00"}, Env: []string{"A=1", "EMPTY="}, Dir: "/w", Umask: &mask},
		{Version: Version, Args: []string{}, Env: []string{}, Dir: "/"},
	} {
		b, err := encodeRequest(r)
		if err != nil {
			t.Fatal(err)
		}
		payload := b[5:]
		got, err := DecodeRequest(payload)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip: %+v, want %+v", got, r)
		}
		for n := 0; n < len(payload); n++ {
			if _, err := DecodeRequest(payload[:n]); err == nil {
				t.Errorf("%d of %d bytes decoded without error", n, len(payload))
			}
		}
		if _, err := DecodeRequest(append(payload, 0)); err == nil {
			t.Error("a trailing byte was accepted")
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	mask := uint32(0o22)
	b, _ := encodeRequest(Request{Version: Version, Args: []string{"run"}, Env: []string{"A=1"}, Dir: "/", Umask: &mask})
	f.Add(b[5:])
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := DecodeRequest(p)
		if err != nil || r.Version != Version {
			return
		}
		// What decodes encodes back to the same bytes.
		again, err := encodeRequest(r)
		if err != nil || string(again[5:]) != string(p) {
			t.Fatalf("decoded %+v re-encodes differently", r)
		}
	})
}

func TestRequest_ValidateRefusesOtherVersionsAndRelativeDirectories(t *testing.T) {
	for _, r := range []Request{{Version: Version + 1, Dir: "/"}, {Version: Version, Dir: "rel"}, {Version: Version}} {
		if r.Validate() == nil {
			t.Errorf("%+v validated", r)
		}
	}
	if err := (Request{Version: Version, Dir: "/"}).Validate(); err != nil {
		t.Error(err)
	}
}
