package darwin

import (
	"fmt"
	"strings"
)

// sexpr is a parsed SBPL form: an atom, a string, or a list.
type sexpr struct {
	atom   string
	str    *string
	list   []sexpr
	isList bool
}

// parseSBPL parses profile text the way Seatbelt's Scheme reader splits it:
// lists, double-quoted strings with backslash escapes, atoms, and ';'
// comments to the end of the line. It returns the top-level forms, or an
// error for unbalanced parentheses or an unterminated string. Tests use it
// to prove that a profile is well formed whatever the paths were.
func parseSBPL(text string) ([]sexpr, error) {
	p := &sbplParser{s: text}
	var forms []sexpr
	for {
		p.skip()
		if p.i >= len(p.s) {
			return forms, nil
		}
		if p.s[p.i] == ')' {
			return nil, fmt.Errorf("unbalanced ')' at byte %d", p.i)
		}
		f, err := p.form()
		if err != nil {
			return nil, err
		}
		forms = append(forms, f)
	}
}

type sbplParser struct {
	s string
	i int
}

// skip skips white space and comments.
func (p *sbplParser) skip() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ';':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *sbplParser) form() (sexpr, error) {
	p.skip()
	if p.i >= len(p.s) {
		return sexpr{}, fmt.Errorf("unexpected end of profile")
	}
	switch p.s[p.i] {
	case '(':
		p.i++
		e := sexpr{isList: true}
		for {
			p.skip()
			if p.i >= len(p.s) {
				return sexpr{}, fmt.Errorf("unbalanced '(': missing ')'")
			}
			if p.s[p.i] == ')' {
				p.i++
				return e, nil
			}
			sub, err := p.form()
			if err != nil {
				return sexpr{}, err
			}
			e.list = append(e.list, sub)
		}
	case '"':
		p.i++
		var b strings.Builder
		for p.i < len(p.s) {
			c := p.s[p.i]
			switch c {
			case '\\':
				if p.i+1 >= len(p.s) {
					return sexpr{}, fmt.Errorf("unterminated string")
				}
				b.WriteByte(p.s[p.i+1])
				p.i += 2
			case '"':
				p.i++
				s := b.String()
				return sexpr{str: &s}, nil
			default:
				b.WriteByte(c)
				p.i++
			}
		}
		return sexpr{}, fmt.Errorf("unterminated string")
	default:
		start := p.i
		for p.i < len(p.s) && !strings.ContainsRune(" \t\r\n()\";", rune(p.s[p.i])) {
			p.i++
		}
		return sexpr{atom: p.s[start:p.i]}, nil
	}
}

// params returns the names of every (param "NAME") in forms, in order.
func paramRefs(forms []sexpr) []string {
	var out []string
	var walk func(e sexpr)
	walk = func(e sexpr) {
		if !e.isList {
			return
		}
		if len(e.list) == 2 && e.list[0].atom == "param" && e.list[1].str != nil {
			out = append(out, *e.list[1].str)
			return
		}
		for _, s := range e.list {
			walk(s)
		}
	}
	for _, f := range forms {
		walk(f)
	}
	return out
}

// stringsIn returns every string literal in forms.
func stringsIn(forms []sexpr) []string {
	var out []string
	var walk func(e sexpr)
	walk = func(e sexpr) {
		if e.str != nil {
			out = append(out, *e.str)
		}
		for _, s := range e.list {
			walk(s)
		}
	}
	for _, f := range forms {
		walk(f)
	}
	return out
}
