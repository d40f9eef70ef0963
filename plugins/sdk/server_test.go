package sdk

import "testing"

func TestAnyOSAbs_AcceptsUnixAndWindowsAbsolutePathsOnly(t *testing.T) {
	for p, want := range map[string]bool{
		"/home/me": true, `C:\Users\me`: true, "c:/x": true, `\\server\share`: true,
		"relative": false, `C:relative`: false, "": false, `1:\x`: false, "./x": false,
	} {
		if got := anyOSAbs(p); got != want {
			t.Errorf("anyOSAbs(%q) = %v, want %v", p, got, want)
		}
	}
}
