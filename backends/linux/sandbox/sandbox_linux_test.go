//go:build linux

package sandbox

import (
	"strings"
	"testing"
)

// TestApplySeccomp_RefusesMalformedPrograms: a program that is empty, not
// a whole number of instructions, or longer than the kernel accepts is
// refused before anything is loaded (the test process stays unfiltered).
func TestApplySeccomp_RefusesMalformedPrograms(t *testing.T) {
	for name, bpf := range map[string][]byte{
		"empty":        nil,
		"partial":      make([]byte, 12),
		"too long":     make([]byte, 8*(bpfMaxInstructions+1)),
		"not a filter": {1, 2, 3},
	} {
		if err := applySeccomp(&Seccomp{BPF: bpf}); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestLandlockABI_SaysWhyWhenUnavailable: the probe answers a version, or
// 0 with the reason.
func TestLandlockABI_SaysWhyWhenUnavailable(t *testing.T) {
	v, note := LandlockABI()
	if v < 0 || v > MaxLandlockABI || (v == 0 && note == "") {
		t.Errorf("ABI %d, note %q", v, note)
	}
}
