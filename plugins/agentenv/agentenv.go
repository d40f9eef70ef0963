package agentenv

import "strings"

// Var reports whether a plugin may depend on the environment variable k,
// which then must be the same for two hosts to share an agent: the
// temporary directory, home and user, PATH, the XDG directories and the
// locale. The SDK documents this list: a plugin must not depend on others.
func Var(k string) bool {
	switch k {
	case "TMPDIR", "TMP", "TEMP", "HOME", "USER", "LOGNAME", "PATH", "LANG", "LANGUAGE":
		return true
	}
	return strings.HasPrefix(k, "XDG_") || strings.HasPrefix(k, "LC_")
}
