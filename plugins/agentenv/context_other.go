//go:build !linux

package agentenv

// ProcessContext is empty here: agents are Linux-only.
func ProcessContext() string { return "" }
