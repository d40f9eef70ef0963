package windows

import (
	"sort"

	"github.com/sbxdev/sbx/core"
)

// Why a directory is frozen.
//
// A Windows ACL cannot refuse one name: FILE_ADD_FILE and
// FILE_ADD_SUBDIRECTORY on a directory allow creating an entry of any name
// in it. So when a protected name is missing from a writable root, the only
// way to keep the command from creating it is to take those rights away on
// the root itself. sbx then "freezes" the root, as the Linux backend
// carves it:
//
//   - on the root, for each sbx SID that is granted there, a non-inherited
//     allow of MaskFrozenDir (list, traverse, read; no add, no
//     DELETE_CHILD, no DELETE, no WRITE_DAC/OWNER), and an inherit-only
//     (OI|CI|IO) allow of MaskModify, so everything below is writable as
//     before;
//   - a non-inherited deny of MaskDenyWrite on the root for every sbx SID
//     of the token, so that a grant inherited from above (a writable root
//     containing this one, or the base SID's grant on %TEMP% when the
//     workspace lives in it) cannot give the add rights back.
//
// Renaming or deleting an entry needs DELETE on it or FILE_DELETE_CHILD on
// its directory; creating one, or renaming anything to a name, needs an
// add right on the directory. On a frozen root nobody of the sandbox has
// the add rights or DELETE_CHILD, and existing protected entries deny
// DELETE on themselves, so a missing protected name cannot be created and
// an existing one cannot be renamed away or replaced. The cost: no new
// entry can be created directly at the top of a frozen root (other entries
// there can still be deleted, or moved into a subdirectory, as they carry
// DELETE).
//
// A protected path deeper in a writable root (a worktree's gitdir) is held
// the same way along its path: every existing directory between the
// outermost writable root and the path denies MaskDenyMove (it cannot be
// renamed away and rebuilt), and when the path is missing, its nearest
// existing parent denies MaskDenyWrite (nothing can be added to it) — or,
// when that parent is a writable root, the root is frozen.

// freezePlan says how missing protected paths are kept from being created
// and deeper ones from being moved.
type freezePlan struct {
	// frozen holds the winKey of each frozen writable root.
	frozen map[string]bool
	// deny is the deny mask to put on each path (winKey → path, mask):
	// MaskDenyWrite on frozen roots and frozen inner directories,
	// MaskDenyMove on directories on the way to a protected path.
	deny map[string]*freezeDeny
	// how is, per protected path (winKey), how the freeze holds it;
	// absent for paths the freeze does not cover.
	how map[string]string
}

type freezeDeny struct {
	path string
	mask uint32
}

func (fp *freezePlan) addDeny(path string, mask uint32) {
	k := winKey(path)
	if d := fp.deny[k]; d != nil {
		d.mask |= mask
		return
	}
	fp.deny[k] = &freezeDeny{path: path, mask: mask}
}

// denyPaths are the paths with a freeze deny, sorted.
func (fp *freezePlan) denyPaths() []*freezeDeny {
	out := make([]*freezeDeny, 0, len(fp.deny))
	for _, d := range fp.deny {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return winKey(out[i].path) < winKey(out[j].path) })
	return out
}

// planFreeze decides, from the protected paths and the file system, which
// writable roots are frozen and which directories deny what. writable are
// the policy's writable paths (the temporary directories are never frozen:
// a protected path missing only from %TEMP% stays absent).
//
// The chain of directories that must not move starts at the outermost
// writable area holding the path, temporary directories included: with
// the workspace at %TEMP%\proj\ws, the base SID could otherwise rename
// %TEMP%\proj away and build a new ws with a forged .git in its place.
func planFreeze(pps []core.ProtectedPath, writable, tmp []string, fs FS) *freezePlan {
	fp := &freezePlan{frozen: map[string]bool{}, deny: map[string]*freezeDeny{}, how: map[string]string{}}
	isRoot := func(p string) bool { return isWritableRoot(p, writable) }
	areas := append(append([]string(nil), writable...), tmp...)
	for _, pp := range pps {
		outer := outermostRoot(pp.Path, areas)
		if outer == "" {
			continue // outside every writable area, or one itself
		}
		if q := protectingDir(pp, pps); q != "" {
			fp.how[winKey(pp.Path)] = "below the protected path " + q + ", whose deny-write ACE (inheritable on a directory; DELETE included on a file) refuses creating, changing or removing anything below it"
			continue
		}
		// The directories from the outer root down to the path's parent.
		var chain []string
		for d := winDir(pp.Path); ; d = winDir(d) {
			chain = append([]string{d}, chain...)
			if winEqual(d, outer) || !winWithin(d, outer) || winDir(d) == d {
				break
			}
		}
		// The nearest existing directory on the way (the chain starts at
		// the outer root, which exists or the plan would not be useful).
		last := 0
		lastIsDir := true
		if !pp.Exists {
			for i := 1; i < len(chain); i++ {
				ok, dir := fs.Stat(chain[i])
				if !ok {
					break
				}
				last, lastIsDir = i, dir
				if !dir {
					break // nothing can be below a file
				}
			}
		} else {
			last = len(chain) - 1
		}
		// Directories strictly between the outer root and the nearest
		// existing one (or the path's parent) cannot be moved.
		for i := 1; i < last; i++ {
			fp.addDeny(chain[i], MaskDenyMove)
		}
		if pp.Exists {
			if len(chain) > 1 {
				fp.addDeny(chain[last], MaskDenyMove)
				fp.how[winKey(pp.Path)] = "the directories on the way to it from " + outer + " deny DELETE, so it cannot be moved away with them and rebuilt"
			}
			continue
		}
		a := chain[last]
		switch {
		case !isRoot(a) && isWritableRoot(a, tmp):
			// A temporary directory is never frozen: the path stays
			// absent (no how).
		case isRoot(a):
			fp.frozen[winKey(a)] = true
			fp.addDeny(a, MaskDenyWrite)
			fp.how[winKey(pp.Path)] = "does not exist: the writable root " + a + " is frozen while it is missing — sbx's SIDs may list and traverse it but not add, remove or rename its entries (no FILE_ADD_FILE, FILE_ADD_SUBDIRECTORY, FILE_DELETE_CHILD or DELETE on it), so it cannot be created"
		case lastIsDir:
			fp.addDeny(a, MaskDenyWrite)
			fp.how[winKey(pp.Path)] = "does not exist: its nearest existing parent " + a + " denies adding, removing and renaming entries (and the directories above it deny DELETE), so it cannot be created"
		default:
			fp.addDeny(a, MaskDenyMove)
			fp.how[winKey(pp.Path)] = "does not exist: " + a + " on its way is a file that denies DELETE, so no directory can take its place"
		}
	}
	return fp
}

// outermostRoot is the outermost of roots strictly containing path, or ""
// when none does. Inner roots on the way are treated as ordinary
// directories: renaming one away would take its protected names with it.
func outermostRoot(path string, writable []string) string {
	out := ""
	for _, r := range writable {
		if winEqual(r, path) || !winWithin(path, r) {
			continue
		}
		if out == "" || winWithin(out, r) {
			out = r
		}
	}
	return out
}

// protectingDir is an existing protected path strictly containing pp's
// path, or "": a directory's inheritable deny already covers everything
// below it, and nothing can appear below a file that cannot be deleted.
func protectingDir(pp core.ProtectedPath, pps []core.ProtectedPath) string {
	for _, q := range pps {
		if q.Exists && !winEqual(q.Path, pp.Path) && winWithin(pp.Path, q.Path) {
			return q.Path
		}
	}
	return ""
}
