package core

import (
	"errors"
	"fmt"
	"strings"
)

// Error classes. Every error a backend returns should match (errors.Is) one of
// them, so that callers can act on the class; the plugin layer carries the
// class across the gRPC boundary and restores it on the other side.
var (
	// ErrInvalidPolicy: the policy (or a flag or config value that made it)
	// is wrong. Nothing was run. *PolicyError gives the details.
	ErrInvalidPolicy = errors.New("invalid policy")
	// ErrUnsupported: the backend cannot do what was asked on this host
	// (missing kernel feature, wrong OS, built without cgo, ...).
	ErrUnsupported = errors.New("unsupported")
	// ErrUnavailable: the backend exists but cannot run on this host right
	// now; the message says why and what to do.
	ErrUnavailable = errors.New("backend unavailable")
	// ErrSetupRequired: a one-time setup must be run first (for example
	// `sbx setup --backend=windows-elevated`).
	ErrSetupRequired = errors.New("setup required")
	// ErrNotEnforced: the policy asks for something the backend can only do
	// advisorily or not at all, and the run is strict. *NotEnforcedError
	// lists what.
	ErrNotEnforced = errors.New("policy not enforceable")
	// ErrBackendExited: the backend process died or stopped answering.
	ErrBackendExited = errors.New("backend exited")
	// ErrNotFound: no backend of that name.
	ErrNotFound = errors.New("not found")
	// ErrPermission: the OS refused an operation the backend needed.
	ErrPermission = errors.New("permission denied")
	// ErrCanceled: the run was canceled before it finished.
	ErrCanceled = errors.New("canceled")
	// ErrProtocol: the other side of the plugin connection spoke a protocol
	// version or sent a message this side does not understand.
	ErrProtocol = errors.New("protocol mismatch")
)

// PolicyError lists every problem found in a policy. It matches
// ErrInvalidPolicy.
type PolicyError struct {
	Problems []Problem
}

// Error lists every problem, separated by semicolons.
func (e *PolicyError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid policy: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalidPolicy) true.
func (e *PolicyError) Is(target error) bool { return target == ErrInvalidPolicy }

// NotEnforcedError lists the elements of a policy that a backend cannot
// enforce at the strength the run accepts. It matches ErrNotEnforced.
type NotEnforcedError struct {
	Backend  string
	Elements []Element
	// Hint says how to proceed (a stronger backend, or the opt-in flag).
	Hint string
}

// Error names the backend, each element it cannot hold, and the hint.
func (e *NotEnforcedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "backend %s cannot enforce this policy:", e.Backend)
	for _, el := range e.Elements {
		fmt.Fprintf(&b, "\n  - %s", el.Summary())
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "\n%s", e.Hint)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotEnforced) true.
func (e *NotEnforcedError) Is(target error) bool { return target == ErrNotEnforced }

// Classify returns the error class err belongs to (one of the Err* values of
// this package), or nil when it belongs to none.
func Classify(err error) error {
	for _, c := range Classes {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// Classes lists the error classes in the order [Classify] tries them.
var Classes = []error{
	ErrInvalidPolicy, ErrNotEnforced, ErrSetupRequired, ErrUnavailable, ErrUnsupported,
	ErrBackendExited, ErrNotFound, ErrPermission, ErrCanceled, ErrProtocol,
}

// ClassError is an error whose class is known but whose original Go value is
// not (it came across a process boundary). It matches its Class.
type ClassError struct {
	Class error
	Msg   string
}

// Error is the original message.
func (e *ClassError) Error() string { return e.Msg }

// Is makes errors.Is(err, e.Class) true.
func (e *ClassError) Is(target error) bool { return target == e.Class }
