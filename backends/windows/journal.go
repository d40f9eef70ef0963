package windows

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sbxdev/sbx/core"
)

// The ACL journal records every ACE sbx adds to a DACL, before adding it,
// with the DACL as it was. `sbx setup --undo` walks it backwards and removes
// exactly sbx's explicit ACEs (any ACE naming one of the SIDs it recorded),
// so changes made by others since are kept. The previous SDDL is kept for
// people: if anything goes wrong it is the DACL to restore by hand
// (icacls /restore or Set-Acl).

// JournalVersion is the journal file format version.
const JournalVersion = 1

// Journal entry states.
const (
	JournalPending = "pending" // recorded, maybe applied (crash between)
	JournalApplied = "applied"
)

// JournalEntry is one ACE sbx added.
type JournalEntry struct {
	Time  time.Time `json:"time"`
	Path  string    `json:"path"`
	ACE   string    `json:"ace"`
	SID   string    `json:"sid"`
	Kind  ACEKind   `json:"kind"`
	State string    `json:"state"`
	// Before is the path's DACL before sbx changed it.
	Before string `json:"before"`
	// Why is the plan's reason.
	Why string `json:"why,omitempty"`
}

// Journal is the list of ACEs sbx added, oldest first.
type Journal struct {
	Version int            `json:"version"`
	Entries []JournalEntry `json:"entries"`
}

// JournalStore loads and saves the journal file (atomically). Lock makes
// a load-change-save sequence exclusive between processes (two runs
// starting at once must not lose each other's entries).
type JournalStore interface {
	Load() ([]byte, error) // nil, nil when there is no journal yet
	Save([]byte) error
	Lock() (unlock func(), err error)
}

func loadJournal(s JournalStore) (*Journal, error) {
	b, err := s.Load()
	if err != nil {
		return nil, fmt.Errorf("read the ACL journal: %w", err)
	}
	j := &Journal{Version: JournalVersion}
	if len(b) == 0 {
		return j, nil
	}
	if err := json.Unmarshal(b, j); err != nil {
		return nil, fmt.Errorf("the ACL journal is corrupt (%v); it is the record of ACEs to undo, so it was left as is: fix or remove it by hand: %w", err, core.ErrInvalidPolicy)
	}
	if j.Version != JournalVersion {
		return nil, fmt.Errorf("ACL journal version %d, this sbx reads %d: undo with the sbx that wrote it: %w", j.Version, JournalVersion, core.ErrUnsupported)
	}
	return j, nil
}

func saveJournal(s JournalStore, j *Journal) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := s.Save(b); err != nil {
		return fmt.Errorf("write the ACL journal: %w", err)
	}
	return nil
}

// ApplyACEs adds the plan's ACEs that are not there yet, journaling each
// one before it is added. ACEs of StageSetup are left to the elevated
// setup. ACEs already present are skipped, so a second run of the same
// plan changes nothing. On a path where the plan has Replace ACEs, sbx's
// other explicit ACEs (those naming a SID that appears anywhere in the
// plan) are removed in the same write: a writable root that switches
// between frozen and fully writable keeps nothing of its other state.
//
// The new DACL is composed here (composeDACL) and written whole with
// SetDACL, not merged with SetEntriesInAcl: GRANT_ACCESS "combines the
// specified rights with any existing allowed or denied rights of the
// trustee", which could take rights out of a deny ACE sbx puts on the same
// path for the same SID (a frozen root has both).
//
// It fails closed: the first error stops it, and the run must not start.
func ApplyACEs(api ACLAPI, store JournalStore, aces []ACE, now func() time.Time) (added int, err error) {
	unlock, err := store.Lock()
	if err != nil {
		return 0, fmt.Errorf("lock the ACL journal: %w", err)
	}
	defer unlock()
	j, err := loadJournal(store)
	if err != nil {
		return 0, err
	}
	planSIDs := map[string]bool{}
	planned := map[string][]ACE{} // winKey(path) → every planned ACE there
	var mine []ACE
	for _, a := range aces {
		planSIDs[a.SID] = true
		planned[winKey(a.Path)] = append(planned[winKey(a.Path)], a)
		if a.Stage != StageSetup {
			mine = append(mine, a)
		}
	}
	for _, group := range groupByPath(mine) {
		path := group[0].Path
		before, err := api.GetDACL(path)
		if err != nil {
			if group[0].Optional {
				continue
			}
			return added, fmt.Errorf("read the DACL of %s: %w", path, err)
		}
		var todo []ACE
		for _, a := range group {
			if !daclHas(before, a) {
				todo = append(todo, a)
			}
		}
		var stale map[string]bool
		if replaces(group) {
			if stale, err = staleACEs(before, planned[winKey(path)], planSIDs); err != nil {
				return added, fmt.Errorf("read the DACL of %s: %w", path, err)
			}
		}
		if len(todo) == 0 && len(stale) == 0 {
			continue
		}
		next, err := composeDACL(before, stale, todo)
		if err != nil {
			if group[0].Optional {
				continue
			}
			return added, fmt.Errorf("the DACL of %s: %w", path, err)
		}
		first := len(j.Entries)
		for _, a := range todo {
			j.Entries = append(j.Entries, JournalEntry{Time: now().UTC(), Path: path, ACE: a.SDDL(), SID: a.SID, Kind: a.Kind, State: JournalPending, Before: before, Why: a.Why})
		}
		if err := saveJournal(store, j); err != nil {
			return added, err
		}
		if err := api.SetDACL(path, next); err != nil {
			if group[0].Optional {
				j.Entries = j.Entries[:first]
				if err := saveJournal(store, j); err != nil {
					return added, err
				}
				continue
			}
			return added, fmt.Errorf("add ACEs to %s: %w", path, err)
		}
		for i := first; i < len(j.Entries); i++ {
			j.Entries[i].State = JournalApplied
		}
		if err := saveJournal(store, j); err != nil {
			return added, err
		}
		added += len(todo)
	}
	return added, nil
}

// replaces reports whether any ACE of a path's group has Replace.
func replaces(group []ACE) bool {
	for _, a := range group {
		if a.Replace {
			return true
		}
	}
	return false
}

// staleACEs are the explicit ACEs of sddl (by their raw text) that name a
// SID of the plan and match none of the ACEs the plan puts on this path.
func staleACEs(sddl string, planned []ACE, planSIDs map[string]bool) (map[string]bool, error) {
	_, aces, err := parseDACL(sddl)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, x := range aces {
		if hasFlag(x.flags, "ID") || !planSIDs[x.sid] {
			continue
		}
		keep := false
		for _, a := range planned {
			if aceMatches(x, a) {
				keep = true
			}
		}
		if !keep {
			out[x.raw] = true
		}
	}
	return out, nil
}

// composeDACL is the explicit DACL to write back: sddl's flags, the new
// deny ACEs first, then sddl's explicit ACEs in their order without the
// stale ones, then the new allow ACEs. If sddl's explicit ACEs were in
// canonical order (explicit denies before explicit allows), so is the
// result. Inherited ACEs (ID) are left out: SetDACL has the system
// recompute them. A NULL DACL (everyone has full access) is refused: adding
// ACEs to it would take access away from everyone else, and granting
// anything on it is meaningless.
func composeDACL(sddl string, stale map[string]bool, add []ACE) (string, error) {
	flags, aces, err := parseDACL(sddl)
	if err != nil {
		return "", err
	}
	if strings.Contains(flags, "NO_ACCESS_CONTROL") {
		return "", fmt.Errorf("it has a NULL DACL (everyone has full access); give it a real DACL first (for example icacls PATH /reset)")
	}
	var b strings.Builder
	b.WriteString("D:" + flags)
	for _, a := range add {
		if a.Kind == Deny {
			b.WriteString(a.SDDL())
		}
	}
	for _, x := range aces {
		if hasFlag(x.flags, "ID") || stale[x.raw] {
			continue
		}
		b.WriteString(x.raw)
	}
	for _, a := range add {
		if a.Kind != Deny {
			b.WriteString(a.SDDL())
		}
	}
	return b.String(), nil
}

// UndoACEs removes every ACE in the journal, newest path first, and empties
// the journal. Paths that no longer exist are reported and dropped.
func UndoACEs(api ACLAPI, store JournalStore, progress io.Writer) error {
	unlock, err := store.Lock()
	if err != nil {
		return fmt.Errorf("lock the ACL journal: %w", err)
	}
	defer unlock()
	j, err := loadJournal(store)
	if err != nil {
		return err
	}
	if progress == nil {
		progress = io.Discard
	}
	// Group entries by path, keeping the order of last appearance, and
	// undo from the newest.
	var paths []string
	sids := map[string]map[string]bool{}
	for _, e := range j.Entries {
		k := winKey(e.Path)
		if sids[k] == nil {
			sids[k] = map[string]bool{}
			paths = append(paths, e.Path)
		}
		sids[k][string(e.Kind)+"|"+e.SID] = true
	}
	var failed []error
	for i := len(paths) - 1; i >= 0; i-- {
		path := paths[i]
		cur, err := api.GetDACL(path)
		if err != nil {
			fmt.Fprintf(progress, "skip %s: %v (gone?)\n", path, err)
			continue
		}
		next, removed, err := removeACEs(cur, sids[winKey(path)])
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", path, err))
			continue
		}
		if removed == 0 {
			fmt.Fprintf(progress, "%s: nothing of sbx's left\n", path)
			continue
		}
		if err := api.SetDACL(path, next); err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", path, err))
			continue
		}
		fmt.Fprintf(progress, "%s: removed %d ACE(s)\n", path, removed)
	}
	if len(failed) > 0 {
		// Keep the journal: undo can be retried.
		return fmt.Errorf("undo ACL changes: %w", errors.Join(failed...))
	}
	j.Entries = nil
	return saveJournal(store, j)
}

// JournalItems describes the journal for SetupStatus.
func JournalItems(store JournalStore) ([]core.SetupItem, error) {
	j, err := loadJournal(store)
	if err != nil {
		return nil, err
	}
	var out []core.SetupItem
	for _, e := range j.Entries {
		out = append(out, core.SetupItem{Name: "ACE " + e.ACE + " on " + e.Path, Present: e.State == JournalApplied, Detail: e.Why})
	}
	return out, nil
}

// groupByPath groups ACEs by path, keeping the first-appearance order.
func groupByPath(aces []ACE) [][]ACE {
	idx := map[string]int{}
	var out [][]ACE
	for _, a := range aces {
		k := winKey(a.Path)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], a)
	}
	return out
}

// sddlACE is one parsed ACE string.
type sddlACE struct {
	raw    string
	typ    string // "A", "D", ...
	flags  string // "OICIID"
	rights string
	sid    string
}

// parseDACL splits "D:PAI(A;;FA;;;SY)(D;OICI;0x2;;;S-1-...)" into its flags
// and ACEs. Conditional ACEs may hold parentheses; they are matched by
// depth.
func parseDACL(sddl string) (flags string, aces []sddlACE, err error) {
	i := strings.Index(sddl, "D:")
	if i < 0 {
		return "", nil, fmt.Errorf("no DACL in %q", sddl)
	}
	s := sddl[i+2:]
	j := strings.IndexByte(s, '(')
	if j < 0 {
		return s, nil, nil
	}
	flags, s = s[:j], s[j:]
	for len(s) > 0 {
		if s[0] != '(' {
			// Another part of the SD (S: for the SACL) ends the DACL.
			break
		}
		depth, end := 0, -1
		for k := 0; k < len(s); k++ {
			switch s[k] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					end = k
				}
			}
			if end >= 0 {
				break
			}
		}
		if end < 0 {
			return "", nil, fmt.Errorf("unbalanced parentheses in %q", sddl)
		}
		raw := s[:end+1]
		f := strings.SplitN(raw[1:len(raw)-1], ";", 7)
		if len(f) < 6 {
			return "", nil, fmt.Errorf("malformed ACE %q", raw)
		}
		aces = append(aces, sddlACE{raw: raw, typ: f[0], flags: f[1], rights: f[2], sid: f[5]})
		s = s[end+1:]
	}
	return flags, aces, nil
}

// removeACEs returns the explicit part of a DACL without the explicit ACEs
// of the given kind|SID pairs, and how many it removed. Inherited ACEs (ID)
// are dropped from the result: SetDACL recomputes them.
func removeACEs(sddl string, drop map[string]bool) (string, int, error) {
	flags, aces, err := parseDACL(sddl)
	if err != nil {
		return "", 0, err
	}
	var b strings.Builder
	b.WriteString("D:" + flags)
	removed := 0
	for _, a := range aces {
		if hasFlag(a.flags, "ID") {
			continue
		}
		kind := map[string]ACEKind{"A": Allow, "D": Deny}[a.typ]
		if kind != "" && drop[string(kind)+"|"+a.sid] {
			removed++
			continue
		}
		b.WriteString(a.raw)
	}
	return b.String(), removed, nil
}

// daclHas reports whether sddl already holds an explicit ACE equal to a.
func daclHas(sddl string, a ACE) bool {
	_, aces, err := parseDACL(sddl)
	if err != nil {
		return false
	}
	for _, x := range aces {
		if aceMatches(x, a) {
			return true
		}
	}
	return false
}

// aceMatches reports whether the parsed ACE x is an explicit ACE equal to
// a: same kind, SID, mask and inheritance.
func aceMatches(x sddlACE, a ACE) bool {
	if hasFlag(x.flags, "ID") || x.sid != a.SID {
		return false
	}
	if kind := map[string]ACEKind{"A": Allow, "D": Deny}[x.typ]; kind != a.Kind {
		return false
	}
	return rightsMask(x.rights) == a.Mask && inheritFlags(x.flags) == a.Inherit
}

// sddlRights are the two-letter access rights of SDDL ace strings.
var sddlRights = map[string]uint32{
	"GA": MaskGenericAll, "GX": 0x20000000, "GW": 0x40000000, "GR": 0x80000000,
	"SD": Delete, "RC": ReadControl, "WD": WriteDAC, "WO": WriteOwner,
	"CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "RP": 0x10, "WP": 0x20, "DT": 0x40, "LO": 0x80, "CR": 0x100,
	"FA": 0x1f01ff, "FR": FileGenericRead, "FW": FileGenericWrite, "FX": FileGenericExecute,
}

// rightsMask parses the rights of an SDDL ACE: hexadecimal ("0x1301bf")
// or a run of two-letter rights ("FRFX", "SDRCWDWO"). It returns 0 for
// anything else, which matches no ACE sbx adds.
func rightsMask(r string) uint32 {
	var m uint32
	if _, err := fmt.Sscanf(r, "0x%x", &m); err == nil {
		return m
	}
	if len(r)%2 != 0 {
		return 0
	}
	for i := 0; i+2 <= len(r); i += 2 {
		bit, ok := sddlRights[r[i:i+2]]
		if !ok {
			return 0
		}
		m |= bit
	}
	return m
}

// hasFlag reports whether SDDL ACE flags ("OICIID") hold the two-letter
// flag tok.
func hasFlag(flags, tok string) bool {
	for i := 0; i+2 <= len(flags); i += 2 {
		if flags[i:i+2] == tok {
			return true
		}
	}
	return false
}

// inheritFlags parses the OI/CI/IO part of SDDL ACE flags, read as
// two-letter tokens ("OICIIOID"), so that "CIOI" is not taken for IO.
func inheritFlags(f string) uint32 {
	var m uint32
	for i := 0; i+2 <= len(f); i += 2 {
		switch f[i : i+2] {
		case "OI":
			m |= InheritObject
		case "CI":
			m |= InheritContainer
		case "IO":
			m |= InheritOnly
		}
	}
	return m
}
