package windows

import "strings"

// winLookPath resolves a command name the way cmd.exe does, against the
// PATH and PATHEXT of the command's environment (not the caller's): a name
// with a separator is taken relative to dir; otherwise each PATH directory
// is tried in order, and within it the name as is (when it has an
// extension) then with each PATHEXT extension in order. Unlike cmd.exe it
// never looks in the current directory, and it skips relative PATH entries
// (as plugins/sdk/proc does on every OS): a command must not be picked up
// from wherever it happens to start. exists tells whether a file exists.
// It returns "" when nothing is found.
func winLookPath(name, dir, path, pathext string, exists func(string) bool) string {
	exts := []string{}
	for _, e := range strings.Split(pathext, ";") {
		if e = strings.TrimSpace(e); e != "" {
			exts = append(exts, strings.ToLower(e))
		}
	}
	if len(exts) == 0 {
		exts = []string{".com", ".exe", ".bat", ".cmd"}
	}
	hasExt := strings.Contains(name[strings.LastIndexAny(name, `\/`)+1:], ".")
	try := func(base string) string {
		if hasExt && exists(base) {
			return base
		}
		for _, e := range exts {
			if exists(base + e) {
				return base + e
			}
		}
		return ""
	}
	if strings.ContainsAny(name, `\/:`) {
		if !winIsAbs(name) {
			name = winJoin(dir, name)
		}
		return try(name)
	}
	for _, d := range strings.Split(path, ";") {
		d = strings.Trim(strings.TrimSpace(d), `"`)
		if d == "" || !winIsAbs(d) {
			continue
		}
		if found := try(winJoin(d, name)); found != "" {
			return found
		}
	}
	return ""
}
