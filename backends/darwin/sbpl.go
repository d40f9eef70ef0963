package darwin

import (
	"fmt"
	"strings"
)

// The profile is written with a few helpers that make one rule hold by
// construction: nothing that comes from the policy or the host is ever
// written into the profile text. Paths and regular expressions go in as
// parameters (sandbox-exec -D NAME=VALUE) and the profile refers to them by
// name, (param "WRITABLE_ROOT_0"). String literals in the profile are sbx's
// own constants ("/dev/null", "hw.ncpu"), and str refuses (panics on) any
// that would need escaping, so a mistake shows up in the first test run, not
// as a profile that means something else.

// sbplWriter accumulates a profile and counts its top-level rules.
type sbplWriter struct {
	b     strings.Builder
	rules int
}

// comment writes a comment line (sbx's own text, never policy data).
func (w *sbplWriter) comment(text string) {
	mustBeConstant(text)
	w.b.WriteString("; " + text + "\n")
}

// blank writes an empty line between groups of rules.
func (w *sbplWriter) blank() { w.b.WriteString("\n") }

// form writes one top-level form such as (version 1) or (deny default).
func (w *sbplWriter) form(text string) {
	w.b.WriteString(text + "\n")
	w.rules++
}

// rule writes (ACTION OPS... FILTERS...): a rule that applies when any of
// the filters matches, or always when there is none. Filters go one per
// line for readable diffs of the golden files.
func (w *sbplWriter) rule(action string, ops []string, filters ...string) {
	w.b.WriteString("(" + action + " " + strings.Join(ops, " "))
	if len(filters) == 0 {
		w.b.WriteString(")\n")
	} else {
		for _, f := range filters {
			w.b.WriteString("\n  " + f)
		}
		w.b.WriteString(")\n")
	}
	w.rules++
}

// String returns the profile text.
func (w *sbplWriter) String() string { return w.b.String() }

// str quotes one of sbx's constant strings as an SBPL string literal.
func str(s string) string {
	mustBeConstant(s)
	return `"` + s + `"`
}

// mustBeConstant panics when s holds a byte that would need escaping in an
// SBPL string literal or comment. Only sbx's own constants reach it, so a
// panic is a bug in this package, caught by the golden tests.
func mustBeConstant(s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			panic(fmt.Sprintf("darwin: bug: %q is not a plain constant and must go in as a parameter", s))
		}
	}
}

// param refers to a parameter passed with -D NAME=VALUE.
func param(name string) string { return `(param ` + str(name) + `)` }

// Filters.
func literal(s string) string        { return `(literal ` + str(s) + `)` }
func subpath(s string) string        { return `(subpath ` + str(s) + `)` }
func regexConst(s string) string     { return `(regex ` + str(s) + `)` }
func literalParam(n string) string   { return `(literal ` + param(n) + `)` }
func subpathParam(n string) string   { return `(subpath ` + param(n) + `)` }
func regexParam(n string) string     { return `(regex ` + param(n) + `)` }
func ancestorsParam(n string) string { return `(path-ancestors ` + param(n) + `)` }
func requireNot(f string) string     { return `(require-not ` + f + `)` }
func requireAll(fs ...string) string {
	return `(require-all ` + strings.Join(fs, " ") + `)`
}
