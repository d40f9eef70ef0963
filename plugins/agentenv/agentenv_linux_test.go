package agentenv

import (
	"strings"
	"testing"
)

func TestVar_TheVariablesAPluginMayReadAndNoOthers(t *testing.T) {
	for k, want := range map[string]bool{
		"TMPDIR": true, "TMP": true, "TEMP": true, "HOME": true, "USER": true, "LOGNAME": true, "PATH": true,
		"LANG": true, "LANGUAGE": true, "XDG_RUNTIME_DIR": true, "LC_ALL": true,
		"SHELL": false, "PWD": false, "TERM": false, "SBX_NETWORK": false, "FOO": false, "LD_PRELOAD": false,
	} {
		if got := Var(k); got != want {
			t.Errorf("Var(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestProcessContext_HoldsTheCgroupsAndLimits(t *testing.T) {
	c := ProcessContext()
	for _, want := range []string{"groups [", " nice "} {
		if !strings.Contains(c, want) {
			t.Errorf("ProcessContext() = %q: no %q", c, want)
		}
	}
	if c != ProcessContext() {
		t.Error("two calls in one process differ")
	}
}
