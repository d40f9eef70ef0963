package probe

import "syscall"

// errnoName has no symbolic names to give on Windows.
func errnoName(syscall.Errno) string { return "" }

func detachedProbe(*Config) Result { return skipped("not a probe for windows") }

func detachedStage1([]string) int { return 2 }

func detachedStage2([]string) int { return 2 }

func signalProbe(int) Result { return skipped("not a probe for windows") }
