//go:build unix && !linux && !darwin

package proc

// scanProcs cannot list processes here (no /proc, no kern.proc.all): the
// tree kill falls back to the process group.
func scanProcs() map[int]procInfo { return nil }
