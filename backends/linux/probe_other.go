//go:build !linux

package linux

import "runtime"

// Probe on a system other than Linux finds nothing: every mode is
// unavailable there.
func Probe() Facts {
	note := "not Linux (" + runtime.GOOS + ")"
	return Facts{LandlockNote: note, SeccompNote: note, UserNSNote: note,
		Cgroup: CgroupFacts{Mode: "none", Note: note}, TmpDirs: []string{"/tmp"}}
}
