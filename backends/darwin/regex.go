package darwin

import (
	"fmt"
	"strings"
)

// Seatbelt's regex filter takes a POSIX extended regular expression. sbx
// needs one in a single place: to refuse a protected name directly inside a
// writable root in every spelling a case-insensitive volume treats as the
// same name (".git", ".GiT", ".GIT"...), including when it does not exist
// yet. A literal or subpath filter matches one spelling only, and creating
// ".GiT" on a case-insensitive APFS volume makes a directory git then uses
// as ".git".
//
// The regular expressions are never written into the profile text: they are
// passed as parameters, like paths, and the profile says
// (regex (param "PROTECTED_NAME_RE_0")). So a root containing quotes,
// parentheses or newlines cannot change the profile's structure; the only
// thing that matters is that the regular expression itself means what it
// should, which regexQuote ensures.

// regexMeta are the bytes that have a meaning in a POSIX extended regular
// expression. Every other byte (including newlines and the bytes of UTF-8
// sequences) stands for itself.
const regexMeta = `\^$.|?*+()[]{}`

// regexQuote returns s with every regular-expression metacharacter escaped
// by a backslash, so that the result matches exactly s.
func regexQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(regexMeta, c) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// foldAlternatives lists, for ASCII sequences, the other code points that a
// case-insensitive APFS volume treats as the same characters: Unicode case
// folding (U+212A KELVIN SIGN folds to "k", U+017F LONG S to "s", and with
// full folding U+00DF "ß" to "ss" and the Latin ligatures to "ff", "fi",
// ...), and the canonical singletons that normalization turns into ASCII
// (U+037E GREEK QUESTION MARK is ";"). Letter case itself is handled by
// bracket expressions ("[gG]"). Longer sequences come first.
var foldAlternatives = []struct {
	ascii string
	alts  []string
}{
	{"ffi", []string{"\uFB03"}},
	{"ffl", []string{"\uFB04"}},
	{"ff", []string{"\uFB00"}},
	{"fi", []string{"\uFB01"}},
	{"fl", []string{"\uFB02"}},
	{"ss", []string{"\u00DF", "\u1E9E"}},
	{"st", []string{"\uFB05", "\uFB06"}},
	{"k", []string{"\u212A"}},
	{"s", []string{"\u017F"}},
	{";", []string{"\u037E"}},
	{"`", []string{"\u1FEF"}},
}

// maxNameRegex bounds the size of one protected name's regular expression.
// Names made of many overlapping foldable pairs ("ssssss...") grow the
// expression exponentially; such a name is refused rather than matched
// partially.
const maxNameRegex = 16 << 10

// isASCII reports whether s has only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// foldRegex returns a regular expression (without anchors) matching s in
// every spelling a case-insensitive, normalization-insensitive volume
// treats as s: ASCII letters in either case, and the non-ASCII code points
// that fold or normalize to ASCII (see foldAlternatives). Non-ASCII
// characters of s are matched as their exact bytes: for a name that has
// some, the caller reports the element as not fully enforced.
func foldRegex(s string) (string, error) {
	if strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("%q contains NUL", s)
	}
	var out strings.Builder
	for i := 0; i < len(s); {
		j := i
		if s[i] >= 0x80 {
			for j < len(s) && s[j] >= 0x80 {
				j++
			}
			// UTF-8 bytes are never metacharacters.
			out.WriteString(s[i:j])
		} else {
			for j < len(s) && s[j] < 0x80 {
				j++
			}
			if err := foldASCII(s[i:j], &out); err != nil {
				return "", err
			}
		}
		i = j
	}
	if out.Len() > maxNameRegex {
		return "", fmt.Errorf("%q has too many case-folding variants to match on macOS; shorten it", s)
	}
	return out.String(), nil
}

// nameRegex is foldRegex for a protected name, with an error that says so.
func nameRegex(name string) (string, error) {
	re, err := foldRegex(name)
	if err != nil {
		return "", fmt.Errorf("protected name: %w", err)
	}
	return re, nil
}

// foldASCII writes the pattern of an ASCII string. The string is cut where
// no multi-character fold ("ss" → "ß") spans the cut, and each piece is
// expanded on its own, so the pattern grows linearly with the string and
// exponentially only with the length of a run of overlapping folds
// ("sssss"), which maxNameRegex bounds.
func foldASCII(s string, out *strings.Builder) error {
	start, reach := 0, 0
	for i := 0; i < len(s); i++ {
		for _, f := range foldAlternatives {
			if len(f.ascii) >= 2 && i+len(f.ascii) <= len(s) && strings.EqualFold(s[i:i+len(f.ascii)], f.ascii) {
				reach = max(reach, i+len(f.ascii))
			}
		}
		if reach > i+1 {
			continue // a fold spans the cut after i
		}
		if err := foldFrom(s[start:i+1], 0, out); err != nil {
			return err
		}
		if out.Len() > maxNameRegex {
			return fmt.Errorf("%q has too many case-folding variants to match on macOS; shorten it", s)
		}
		start = i + 1
	}
	return nil
}

// foldFrom writes to out the pattern for name[i:]. At each position the
// spelling can be one character (in either case, or its single-code-point
// fold alternative) or, where a multi-character fold applies ("ss" → "ß"),
// the alternative code point; alternatives become a group.
func foldFrom(name string, i int, out *strings.Builder) error {
	for i < len(name) {
		var options []string
		single := charPattern(name[i])
		// Multi-character folds starting here.
		for _, f := range foldAlternatives {
			if len(f.ascii) < 2 || i+len(f.ascii) > len(name) || !strings.EqualFold(name[i:i+len(f.ascii)], f.ascii) {
				continue
			}
			var tail strings.Builder
			if err := foldFrom(name, i+len(f.ascii), &tail); err != nil {
				return err
			}
			options = append(options, altGroup(f.alts)+tail.String())
		}
		if len(options) == 0 {
			// Nothing spans past this character: emit it and go on
			// (iteratively, so long plain names stay linear).
			out.WriteString(single)
			i++
			continue
		}
		// One character, then the rest; or one of the multi-character
		// alternatives, then what follows it.
		var rest strings.Builder
		if err := foldFrom(name, i+1, &rest); err != nil {
			return err
		}
		options = append([]string{single + rest.String()}, options...)
		out.WriteString("(" + strings.Join(options, "|") + ")")
		if out.Len() > maxNameRegex {
			return fmt.Errorf("%q has too many case-folding variants to match on macOS; shorten it", name)
		}
		return nil
	}
	return nil
}

// charPattern is the pattern for one ASCII character.
func charPattern(c byte) string {
	var alts []string
	for _, f := range foldAlternatives {
		if len(f.ascii) == 1 && strings.EqualFold(f.ascii, string(c)) {
			alts = f.alts
		}
	}
	var base string
	switch {
	case c >= 'a' && c <= 'z':
		base = "[" + string(c) + string(c-'a'+'A') + "]"
	case c >= 'A' && c <= 'Z':
		base = "[" + string(c-'A'+'a') + string(c) + "]"
	default:
		base = regexQuote(string(c))
	}
	if len(alts) == 0 {
		return base
	}
	return "(" + base + "|" + strings.Join(alts, "|") + ")"
}

// altGroup is a group matching any of alts (non-ASCII code points, which
// are no metacharacters).
func altGroup(alts []string) string {
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, "|") + ")"
}

// protectedNameRegex returns the anchored regular expression matching
// root/NAME (in every spelling of NAME) and everything beneath it: the
// paths Seatbelt must refuse to write, create, rename or delete. The root
// is folded too: Seatbelt sees the names the volume stores for existing
// directories, so this only matters if it ever matched a path as the
// program spelled it, and then "/Users/Me/WS/.git" must not slip past the
// rule for "/Users/me/ws". On a case-sensitive volume it can refuse a
// differently-cased sibling as well, which fails closed.
func protectedNameRegex(root, name string) (string, error) {
	if strings.ContainsRune(root, 0) {
		return "", fmt.Errorf("path %q contains NUL", root)
	}
	n, err := nameRegex(name)
	if err != nil {
		return "", err
	}
	prefix, err := foldRegex(strings.TrimRight(root, "/"))
	if err != nil {
		return "", fmt.Errorf("writable root: %w", err)
	}
	return "^" + prefix + "/" + n + "($|/)", nil
}
