package proc

import "sync/atomic"

// longLived records SetLongLived.
var longLived atomic.Bool

// SetLongLived records that this process serves many runs over its life
// (a plugin agent), so that a backend may prepare the next run while it is
// idle: keep a [Spare] ready, say. The SDK calls it when it serves as an
// agent; a plugin started for one command never does, and so never starts
// work that no run would use.
func SetLongLived() { longLived.Store(true) }

// LongLived reports whether SetLongLived was called.
func LongLived() bool { return longLived.Load() }
