//go:build !linux

package front

// The front end's agent exists on Linux only (like plugin agents); on other
// systems this package holds just the portable protocol (front.go).
