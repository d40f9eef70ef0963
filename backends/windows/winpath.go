package windows

import "strings"

// The plan works on Windows paths on every OS, so it cannot use
// path/filepath (which follows the OS it runs on). These helpers implement
// the little of Windows path syntax the plan needs: drive-letter and UNC
// absolute paths, '\' and '/' as separators, case-insensitive comparison.

// winClean converts '/' to '\', removes duplicate separators, "." and ".."
// elements, and a trailing separator (except after "C:\").
func winClean(p string) string {
	p = strings.ReplaceAll(p, "/", `\`)
	prefix := ""
	switch {
	case strings.HasPrefix(p, `\\`):
		prefix = `\\`
		p = p[2:]
	case len(p) >= 2 && p[1] == ':':
		prefix = strings.ToUpper(p[:1]) + `:\`
		p = strings.TrimPrefix(p[2:], `\`)
	}
	var parts []string
	for _, el := range strings.Split(p, `\`) {
		switch el {
		case "", ".":
		case "..":
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
		default:
			parts = append(parts, el)
		}
	}
	return prefix + strings.Join(parts, `\`)
}

// winJoin joins elements with '\' and cleans the result.
func winJoin(elem ...string) string { return winClean(strings.Join(elem, `\`)) }

// winIsAbs reports whether p is an absolute Windows path ("C:\x" or a UNC
// path "\\server\share").
func winIsAbs(p string) bool {
	p = strings.ReplaceAll(p, "/", `\`)
	if strings.HasPrefix(p, `\\`) {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && p[2] == '\\' && isLetter(p[0])
}

// winIsUNC reports whether p names a network path (\\server\share), which
// the file server checks with the user's own credentials, not sbx's token.
func winIsUNC(p string) bool {
	p = strings.ReplaceAll(p, "/", `\`)
	return strings.HasPrefix(p, `\\`) && !strings.HasPrefix(p, `\\?\`) && !strings.HasPrefix(p, `\\.\`)
}

// winDir returns the parent directory of p.
func winDir(p string) string {
	p = winClean(p)
	i := strings.LastIndex(p, `\`)
	if i < 0 {
		return p
	}
	if i == 2 && p[1] == ':' {
		return p[:3]
	}
	return p[:i]
}

// winEqual compares two paths the way NTFS does by default: ignoring case.
func winEqual(a, b string) bool { return strings.EqualFold(winClean(a), winClean(b)) }

// winKey is the case-folded form of a path, for maps.
func winKey(p string) string { return strings.ToLower(winClean(p)) }

// winWithin reports whether p is root or inside it (case-insensitively).
func winWithin(p, root string) bool {
	p, root = winKey(p), winKey(root)
	if p == root {
		return true
	}
	if !strings.HasSuffix(root, `\`) {
		root += `\`
	}
	return strings.HasPrefix(p, root)
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
