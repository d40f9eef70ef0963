//go:build !linux

package probe

// The Linux-specific probes are listed only for Linux (Probe.OS); these
// keep the program building elsewhere.

func tiocstiProbe(*Config) Result { return skipped("Linux only") }

func readTerminalProbe(*Config) Result { return skipped("Linux only") }

func ptraceProbe(*Config) Result { return skipped("Linux only") }

func netlinkProbe() Result { return skipped("Linux only") }

func rawSocketProbe() Result { return skipped("Linux only") }
