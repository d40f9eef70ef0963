//go:build !linux

package proc

// threadUmask does nothing outside Linux: plugins there are never agents,
// so they are started by their caller and already have its mask (Windows
// has none). See Spec.Umask.
func threadUmask(u uint32) (bool, error) { return false, nil }
