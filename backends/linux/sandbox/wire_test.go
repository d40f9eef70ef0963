package sandbox

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func sampleConfig() *Config {
	return &Config{
		Version: Version,
		Mounts: []Mount{
			{Op: MountPrivate, Target: "/"},
			{Op: MountTmpfs, Source: "tmpfs", Target: "/tmp", Options: "mode=1777,nosuid,nodev"},
		},
		Loopback:         true,
		DropCapabilities: true,
		Landlock: &Landlock{ABI: 7, HandledFS: 1<<16 - 1, HandledNet: 3, Scoped: 3, Terminal: 1 << 15,
			Rules: []Rule{{Path: "/usr", Dir: true, Access: 13}, {Path: "/dev/null", Access: 2}}},
		Seccomp: &Seccomp{BPF: []byte{6, 0, 0, 0, 0, 0, 0xff, 0x7f}},
		Path:    "/bin/sh", Argv: []string{"sh", "-c", "echo é\x00"}, Dir: "/w", Env: []string{"A=1", "B="},
	}
}

// TestConfigBinary_RoundTrips: what the plugin encodes is what the helper
// decodes, with and without the optional parts.
func TestConfigBinary_RoundTrips(t *testing.T) {
	for name, c := range map[string]*Config{
		"full":    sampleConfig(),
		"minimal": {Version: Version, Path: "/bin/true", Argv: []string{"true"}, Dir: "/"},
	} {
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Config
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(&got, c) {
			t.Errorf("%s: decoded %+v, want %+v", name, got, *c)
		}
	}
}

// TestConfigBinary_RefusesMalformed: every truncation, trailing bytes and a
// count larger than the input fail (without panicking or allocating it).
func TestConfigBinary_RefusesMalformed(t *testing.T) {
	b, _ := sampleConfig().MarshalBinary()
	for n := 0; n < len(b); n++ {
		var c Config
		if err := c.UnmarshalBinary(b[:n]); err == nil {
			t.Errorf("truncated to %d of %d bytes: accepted", n, len(b))
		}
	}
	var c Config
	if err := c.UnmarshalBinary(append(b[:len(b):len(b)], 0)); err == nil {
		t.Errorf("trailing byte accepted")
	}
	huge := append([]byte(configMagic), byte(Version), 0xff, 0xff, 0xff, 0xff, 0x0f)
	if err := c.UnmarshalBinary(huge); err == nil {
		t.Errorf("a count of 2^32 mounts in 5 bytes accepted")
	}
}

// TestConfigBinary_OtherBuilds: another version, and the JSON of an older
// plugin, are recognised as coming from another build.
func TestConfigBinary_OtherBuilds(t *testing.T) {
	other := sampleConfig()
	other.Version = Version + 1
	ob, _ := other.MarshalBinary()
	js, _ := json.Marshal(sampleConfig())
	for name, b := range map[string][]byte{"other version": ob, "json": js, "garbage": []byte("hello")} {
		var c Config
		if err := c.UnmarshalBinary(b); !errors.Is(err, errOtherBuild) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestEncodeStatus_IsWhatEncodingJSONReads: the helper's hand-written JSON
// decodes to the same Status, whatever the error text holds.
func TestEncodeStatus_IsWhatEncodingJSONReads(t *testing.T) {
	code := -3
	for _, st := range []Status{
		{},
		{Exit: &code, Signal: 9},
		{Error: "quote \" backslash \\ nul \x00 tab \t newline \n del \x7f é \u2028 😀", Class: "not found"},
		{Error: "invalid utf-8 \xff\xfe end", Class: "permission", Exit: &code},
	} {
		b := encodeStatus(st)
		var got Status
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		// What encoding/json itself makes of st, read back.
		std, _ := json.Marshal(st)
		var want Status
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q decodes to %+v, want %+v (%s)", b, got, want, std)
		}
	}
}
