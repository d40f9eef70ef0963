package windows

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/sbxdev/sbx/core"
)

// SetupPayload is what the plugin (the real user, not elevated) hands the
// elevated setup binary, in a file only the real user, Administrators and
// SYSTEM can read; the setup deletes it as soon as it has read it.
type SetupPayload struct {
	Version int `json:"version"`
	// Undo removes everything instead.
	Undo bool `json:"undo,omitempty"`
	// RealUserSID is the user who runs sbx.
	RealUserSID string `json:"real_user_sid"`
	// BaseSID is the real user's base synthetic SID, granted on the
	// sandbox users' temporary directories.
	BaseSID string `json:"base_sid"`
	// OfflinePassword and OnlinePassword are the sandbox users' new
	// passwords. The plugin generated them and already stored them
	// DPAPI-encrypted under the real user.
	OfflinePassword string `json:"offline_password,omitempty"`
	OnlinePassword  string `json:"online_password,omitempty"`
	// ProfileDir is the real user's profile, for the read-ACL pass.
	ProfileDir string `json:"profile_dir"`
	// MachineDir is the machine-wide state directory
	// (%ProgramData%\sbx): marker, read-ACL journal, progress.
	MachineDir string `json:"machine_dir"`
}

// Marker is the versioned record of a completed elevated setup, written
// last by the setup (machine-wide, readable by everyone, writable by
// Administrators).
type Marker struct {
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	GroupSID    string    `json:"group_sid"`
	OfflineSID  string    `json:"offline_sid"`
	OnlineSID   string    `json:"online_sid"`
	OfflineTemp string    `json:"offline_temp"`
	OnlineTemp  string    `json:"online_temp"`
	Filters     int       `json:"filters"`
	// ReadACLs is "in progress", "done" or "failed: ...".
	ReadACLs string `json:"read_acls"`
}

// MarkerStore reads and writes the marker.
type MarkerStore interface {
	LoadMarker() (*Marker, error) // nil, nil when absent
	SaveMarker(*Marker) error
	RemoveMarker() error
}

// SetupEnv is what the elevated setup works with.
type SetupEnv struct {
	Users    UserAPI
	Firewall FirewallAPI
	ACL      ACLAPI
	Markers  MarkerStore
	Payload  SetupPayload
	Now      func() time.Time
}

// SetupActions are the steps of the elevated setup, each with its rollback.
// The marker is written last, so a marker on disk always means a complete
// setup (the read-ACL pass, which is slow, continues after it).
func SetupActions(env *SetupEnv) []Action {
	m := &Marker{Version: SetupVersion}
	var offlineProfile, onlineProfile string
	pl := env.Payload
	return []Action{
		{
			Name: "create local group " + GroupName,
			Apply: func(context.Context) (err error) {
				m.GroupSID, err = env.Users.CreateGroup(GroupName, "sbx sandbox users")
				return err
			},
			Rollback: func() error { return env.Users.DeleteGroup(GroupName) },
		},
		{
			Name: "create local user " + OfflineUserName,
			Apply: func(context.Context) (err error) {
				m.OfflineSID, err = env.Users.CreateUser(OfflineUserName, pl.OfflinePassword, "sbx sandbox user without network")
				return err
			},
			Rollback: func() error { return env.Users.DeleteUser(OfflineUserName) },
		},
		{
			Name: "create local user " + OnlineUserName,
			Apply: func(context.Context) (err error) {
				m.OnlineSID, err = env.Users.CreateUser(OnlineUserName, pl.OnlinePassword, "sbx sandbox user with network")
				return err
			},
			Rollback: func() error { return env.Users.DeleteUser(OnlineUserName) },
		},
		{
			Name: "add both users to " + GroupName,
			Apply: func(context.Context) error {
				if err := env.Users.AddToGroup(GroupName, OfflineUserName); err != nil {
					return err
				}
				return env.Users.AddToGroup(GroupName, OnlineUserName)
			},
		},
		{
			Name: "create the users' profiles",
			Apply: func(context.Context) (err error) {
				if offlineProfile, err = env.Users.CreateProfile(OfflineUserName, pl.OfflinePassword); err != nil {
					return fmt.Errorf("%s: %w", OfflineUserName, err)
				}
				if onlineProfile, err = env.Users.CreateProfile(OnlineUserName, pl.OnlinePassword); err != nil {
					return fmt.Errorf("%s: %w", OnlineUserName, err)
				}
				m.OfflineTemp = winJoin(offlineProfile, `AppData\Local\Temp`)
				m.OnlineTemp = winJoin(onlineProfile, `AppData\Local\Temp`)
				return nil
			},
			Rollback: func() error {
				return errors.Join(env.Users.DeleteProfile(m.OfflineSID), env.Users.DeleteProfile(m.OnlineSID))
			},
		},
		{
			Name: "let sbx's base SID write the sandbox users' TEMP",
			Apply: func(context.Context) error {
				for _, t := range []string{m.OfflineTemp, m.OnlineTemp} {
					if err := env.ACL.AddACEs(t, []ACE{newACE(t, Allow, pl.BaseSID, MaskModify, InheritBoth, "sandbox TEMP")}); err != nil {
						return err
					}
				}
				return nil
			},
			// The profiles' rollback removes the directories.
		},
		{
			Name: "block all network traffic of " + OfflineUserName + " (WFP)",
			Apply: func(context.Context) error {
				f := PlanFilters(m.OfflineSID)
				m.Filters = len(f)
				return env.Firewall.Install(f)
			},
			Rollback: func() error { return env.Firewall.Uninstall() },
		},
		{
			Name: fmt.Sprintf("write the setup marker (version %d)", SetupVersion),
			Apply: func(context.Context) error {
				m.CreatedAt = env.Now().UTC()
				m.ReadACLs = "in progress"
				return env.Markers.SaveMarker(m)
			},
			Rollback: func() error { return env.Markers.RemoveMarker() },
		},
	}
}

// UndoActions remove everything the setup created. They all run even if
// some fail (see RunAll); each is idempotent.
func UndoActions(env *SetupEnv, readJournal JournalStore) []Action {
	var m *Marker
	return []Action{
		{Name: "read the setup marker", Apply: func(context.Context) (err error) {
			m, err = env.Markers.LoadMarker()
			return err
		}},
		{Name: "remove the WFP filters", Apply: func(context.Context) error { return env.Firewall.Uninstall() }},
		{Name: "remove the read ACEs of the sandbox group", Apply: func(context.Context) error {
			return UndoACEs(env.ACL, readJournal, nil)
		}},
		{Name: "delete the users' profiles", Apply: func(context.Context) error {
			if m == nil {
				return nil
			}
			return errors.Join(env.Users.DeleteProfile(m.OfflineSID), env.Users.DeleteProfile(m.OnlineSID))
		}},
		{Name: "delete local user " + OfflineUserName, Apply: func(context.Context) error { return env.Users.DeleteUser(OfflineUserName) }},
		{Name: "delete local user " + OnlineUserName, Apply: func(context.Context) error { return env.Users.DeleteUser(OnlineUserName) }},
		{Name: "delete local group " + GroupName, Apply: func(context.Context) error { return env.Users.DeleteGroup(GroupName) }},
		{Name: "remove the setup marker", Apply: func(context.Context) error { return env.Markers.RemoveMarker() }},
	}
}

// credentialNames are never granted to the sandbox group: credentials,
// keys, tokens, and AppData (browser profiles, cookies, app secrets).
var credentialNames = []string{
	".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".config", ".pki", ".terraform.d", ".tsh",
	".password-store", ".vault-token", ".netrc", "_netrc", ".git-credentials", ".npmrc", ".pypirc",
	".m2", ".gradle", ".nuget", ".cargo", "AppData",
	"NTUSER.DAT", ".sbx", ".codex",
}

// DirEntry is a directory entry for the read-ACL pass.
type DirEntry struct {
	Name    string
	IsDir   bool
	Reparse bool
}

// ReadTargets chooses what the sandbox group gets read access to in the
// real user's profile: every entry except credential folders, AppData and
// .cargo (which hold tokens), NTUSER files and reparse points (which would
// lead elsewhere) — plus the tool directories inside the skipped ones
// (AppData\Local\Programs, .cargo\bin). It returns the targets and the
// entries skipped.
func ReadTargets(profile string, entries []DirEntry) (grant, skipped []string) {
	hasCargo := false
	for _, e := range entries {
		p := winJoin(profile, e.Name)
		if strings.EqualFold(e.Name, ".cargo") && !e.Reparse {
			hasCargo = true
		}
		if e.Reparse || skipName(e.Name) {
			skipped = append(skipped, p)
			continue
		}
		grant = append(grant, p)
	}
	grant = append(grant, winJoin(profile, `AppData\Local\Programs`))
	if hasCargo {
		grant = append(grant, winJoin(profile, `.cargo\bin`))
	}
	return grant, skipped
}

func skipName(name string) bool {
	for _, c := range credentialNames {
		if strings.EqualFold(name, c) || strings.HasPrefix(strings.ToUpper(name), "NTUSER.") {
			return true
		}
	}
	return false
}

// needsReadGrant reports whether a DACL lacks read access for everyone the
// sandbox users belong to (Users, Authenticated Users, Everyone).
func needsReadGrant(sddl string) bool {
	_, aces, err := parseDACL(sddl)
	if err != nil {
		return true
	}
	for _, a := range aces {
		if a.typ != "A" {
			continue
		}
		switch a.sid {
		case "BU", "AU", "WD", "S-1-5-32-545", "S-1-5-11", "S-1-1-0":
			if m := rightsMask(a.rights); m&MaskReadExecute == MaskReadExecute || m&MaskGenericAll != 0 {
				return false
			}
		}
	}
	return true
}

// ReadACLPass grants the sandbox group inheritable read+execute on each
// target that needs it, journaling every ACE (so undo removes them), and
// reports progress as "read-acl i/N path" lines. It keeps going past
// per-path errors (a file in use, access denied) and returns them joined.
func ReadACLPass(ctx context.Context, api ACLAPI, journal JournalStore, groupSID string, targets []string, progress io.Writer, now func() time.Time) error {
	if progress == nil {
		progress = io.Discard
	}
	var errs []error
	for i, t := range targets {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(progress, "read-acl %d/%d %s\n", i+1, len(targets), t)
		cur, err := api.GetDACL(t)
		if err != nil {
			continue // gone or not ours to read: nothing to grant
		}
		if !needsReadGrant(cur) {
			continue
		}
		ace := newACE(t, Allow, groupSID, MaskReadExecute, InheritBoth, "sandbox users may read")
		if _, err := ApplyACEs(api, journal, []ACE{ace}, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// NewPassword returns a random password of n characters from a set that
// satisfies Windows' complexity rules (upper, lower, digit, symbol).
func NewPassword(n int) (string, error) {
	sets := []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#%+-.:=?@_~"}
	all := strings.Join(sets, "")
	pick := func(s string) (byte, error) {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(s))))
		if err != nil {
			return 0, err
		}
		return s[i.Int64()], nil
	}
	if n < len(sets) {
		return "", fmt.Errorf("password too short")
	}
	b := make([]byte, n)
	for i := range b {
		set := all
		if i < len(sets) {
			set = sets[i] // one of each class
		}
		c, err := pick(set)
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i] = c
	}
	// Shuffle so the classes are not at fixed positions.
	for i := len(b) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		b[i], b[j.Int64()] = b[j.Int64()], b[i]
	}
	return string(b), nil
}

// MarshalPayload and UnmarshalPayload encode the setup payload.
func MarshalPayload(p SetupPayload) ([]byte, error) { return json.Marshal(p) }

// UnmarshalPayload decodes and checks a setup payload.
func UnmarshalPayload(b []byte) (SetupPayload, error) {
	var p SetupPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("setup payload: %w", err)
	}
	if p.Version != SetupVersion {
		return p, fmt.Errorf("setup payload version %d, this setup binary is version %d: use the setup binary shipped with this sbx", p.Version, SetupVersion)
	}
	if !p.Undo && (!validSID(p.RealUserSID) || !validSID(p.BaseSID) || len(p.OfflinePassword) < 16 || len(p.OnlinePassword) < 16 || !winIsAbs(p.MachineDir)) {
		return p, fmt.Errorf("setup payload incomplete or malformed")
	}
	return p, nil
}

// ElevatedStatus describes the elevated setup from its marker, whether the
// credentials are stored, and how many of sbx's WFP filters are installed.
func ElevatedStatus(m *Marker, credentials bool, filters int) core.SetupStatus {
	st := core.SetupStatus{Want: SetupVersion}
	if m != nil {
		st.Version = m.Version
	}
	markerDetail := "not found: run `sbx setup --backend=windows-elevated`"
	readACLs := ""
	var group, offline, online string
	if m != nil {
		markerDetail = fmt.Sprintf("version %d, written %s", m.Version, m.CreatedAt.Format(time.RFC3339))
		if m.Version != SetupVersion {
			markerDetail += fmt.Sprintf("; this sbx needs version %d: run `sbx setup --backend=windows-elevated` again", SetupVersion)
		}
		readACLs, group, offline, online = m.ReadACLs, m.GroupSID, m.OfflineSID, m.OnlineSID
	}
	filtersOK := m != nil && filters > 0 && filters == m.Filters
	st.Items = []core.SetupItem{
		{Name: "setup marker", Present: m != nil, Detail: markerDetail},
		{Name: "local group " + GroupName, Present: group != "", Detail: group},
		{Name: "local user " + OfflineUserName, Present: offline != "", Detail: offline},
		{Name: "local user " + OnlineUserName, Present: online != "", Detail: online},
		{Name: "DPAPI-encrypted credentials", Present: credentials},
		{Name: "WFP filters for " + OfflineUserName, Present: filtersOK, Detail: fmt.Sprintf("%d installed", filters)},
		{Name: "read ACLs for the sandbox group", Present: readACLs == "done", Detail: readACLs},
	}
	st.Done = m != nil && m.Version == SetupVersion && credentials && filtersOK
	return st
}
