package core

import (
	"fmt"
	"io"
)

// Strength says how strongly a backend holds one element of a policy.
type Strength string

const (
	// Enforced: the OS refuses what the policy forbids, whatever the
	// sandboxed program does.
	Enforced Strength = "enforced"
	// Advisory: cooperative programs are steered away (environment
	// variables, stubs); a program that ignores them gets through.
	Advisory Strength = "advisory"
	// Absent: nothing stops the program.
	Absent Strength = "absent"
)

// rank orders strengths from weakest to strongest.
func (s Strength) rank() int {
	switch s {
	case Enforced:
		return 2
	case Advisory:
		return 1
	default:
		return 0
	}
}

// AtLeast reports whether s is as strong as min.
func (s Strength) AtLeast(min Strength) bool { return s.rank() >= min.rank() }

// Weakest returns the weaker of a and b.
func Weakest(a, b Strength) Strength {
	if a.rank() <= b.rank() {
		return a
	}
	return b
}

// Boundary names what an element of a policy bounds.
type Boundary string

const (
	// BoundaryWrite: where the command may write.
	BoundaryWrite Boundary = "write"
	// BoundaryRead: what the command may read.
	BoundaryRead Boundary = "read"
	// BoundaryNetwork: whether the command may use the network.
	BoundaryNetwork Boundary = "network"
	// BoundaryLimits: resource limits.
	BoundaryLimits Boundary = "limits"
	// BoundaryProcess: process-tree lifetime and isolation (kill with the
	// run, no terminal injection, no tracing of outside processes).
	BoundaryProcess Boundary = "process"
)

// Element is one thing a policy asks for, and what a backend will do about
// it: "/work writable", ".git read-only", "network denied", "memory ≤ 1GiB".
type Element struct {
	// Boundary is what the element bounds.
	Boundary Boundary `json:"boundary"`
	// Subject is what the element is about: a path, "network", "memory".
	Subject string `json:"subject"`
	// Requested is what the policy asks for, in words ("read-only",
	// "writable", "deny", "512MiB").
	Requested string `json:"requested"`
	// Strength is how strongly the backend holds it.
	Strength Strength `json:"strength"`
	// Mechanism is how ("landlock", "read-only bind mount", "firewall rule
	// for the offline user", "HTTP_PROXY to a dead port").
	Mechanism string `json:"mechanism,omitempty"`
	// Note explains a weaker strength: what gets through, and why.
	Note string `json:"note,omitempty"`
}

// Summary is a one-line description of e.
func (e Element) Summary() string {
	s := fmt.Sprintf("%s %s: %s is %s", e.Boundary, e.Subject, e.Requested, e.Strength)
	if e.Mechanism != "" {
		s += " (" + e.Mechanism + ")"
	}
	if e.Note != "" {
		s += ": " + e.Note
	}
	return s
}

// WriteBoundary is the part of a backend that keeps writes where the policy
// allows them. DescribeWrites returns one element per writable root, per
// protected name, and one for "everything else", each with the strength the
// backend will hold it at on this host. It does nothing.
type WriteBoundary interface {
	DescribeWrites(p *Policy) []Element
}

// NetworkBoundary is the part of a backend that keeps the command off the
// network when the policy says so. DescribeNetwork returns the elements for
// the policy's network section with their strengths. It does nothing.
type NetworkBoundary interface {
	DescribeNetwork(p *Policy) []Element
}

// Report lists, for every element of a policy, what was requested and how
// strongly the backend holds it. Downgrades accepted by a non-strict run
// stay in the report, marked by their strength.
type Report struct {
	// Backend is the backend name the report is for.
	Backend string `json:"backend"`
	// Elements are all elements of the policy, in a stable order.
	Elements []Element `json:"elements"`
}

// Boundary returns the weakest strength among the elements of one boundary,
// or Enforced when the policy asks nothing of it.
func (r Report) Boundary(b Boundary) Strength {
	s := Enforced
	for _, e := range r.Elements {
		if e.Boundary == b {
			s = Weakest(s, e.Strength)
		}
	}
	return s
}

// Below returns the elements weaker than min.
func (r Report) Below(min Strength) []Element {
	var out []Element
	for _, e := range r.Elements {
		if !e.Strength.AtLeast(min) {
			out = append(out, e)
		}
	}
	return out
}

// Acceptance says which downgrades a run accepts. The zero value is strict:
// every element must be enforced.
type Acceptance struct {
	// AllowAdvisory accepts elements held only advisorily.
	AllowAdvisory bool `json:"allow_advisory,omitempty"`
	// BestEffort accepts advisory and absent elements.
	BestEffort bool `json:"best_effort,omitempty"`
}

// Minimum returns the weakest strength a accepts.
func (a Acceptance) Minimum() Strength {
	switch {
	case a.BestEffort:
		return Absent
	case a.AllowAdvisory:
		return Advisory
	default:
		return Enforced
	}
}

// Check returns a *NotEnforcedError when r holds an element more weakly
// than a accepts, and nil otherwise.
func (r Report) Check(a Acceptance) error {
	weak := r.Below(a.Minimum())
	if len(weak) == 0 {
		return nil
	}
	hint := "Choose a backend that enforces it (see `sbx backends`), change the policy, or accept the downgrade with "
	if !a.AllowAdvisory && !hasStrength(weak, Absent) {
		hint += "--allow-advisory (or --best-effort)."
	} else {
		hint += "--best-effort."
	}
	return &NotEnforcedError{Backend: r.Backend, Elements: weak, Hint: hint}
}

// Downgrades returns the elements that are not enforced: the lines a
// non-strict run prints on stderr.
func (r Report) Downgrades() []Element { return r.Below(Enforced) }

// WriteDowngrades writes the line a non-strict run prints for each
// downgrade, "sbx: BACKEND: downgrade: SUMMARY", to w (nothing when w is
// nil). Every backend and the host print them this way.
func (r Report) WriteDowngrades(w io.Writer) {
	if w == nil {
		return
	}
	for _, e := range r.Downgrades() {
		fmt.Fprintf(w, "sbx: %s: downgrade: %s\n", r.Backend, e.Summary())
	}
}

func hasStrength(es []Element, s Strength) bool {
	for _, e := range es {
		if e.Strength == s {
			return true
		}
	}
	return false
}
