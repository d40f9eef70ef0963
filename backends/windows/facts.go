package windows

import (
	"os"
	"strings"
)

// SetupVersion is the version of the elevated setup this code needs. A
// marker with a lower version means `sbx setup --backend=windows-elevated`
// must run again (new steps were added).
const SetupVersion = 1

// Names of the accounts and group the elevated setup creates.
const (
	GroupName       = "sbx-sandbox"
	OfflineUserName = "sbx-offline"
	OnlineUserName  = "sbx-online"
)

// HostFacts is everything about the host the plan depends on. BuildPlan is a
// pure function of a policy and HostFacts: DetectFacts fills them on
// Windows, FakeFacts elsewhere and in tests.
type HostFacts struct {
	// Real says the facts were detected on a Windows host (false for
	// FakeFacts).
	Real bool `json:"real"`
	// UserName is the real user ("DOMAIN\name").
	UserName string `json:"user_name"`
	// UserSID is the real user's SID.
	UserSID string `json:"user_sid"`
	// LogonSID is the logon-session SID of the real user (S-1-5-5-x-y).
	// It is NOT put in any restricting list (see doc.go of the plan).
	LogonSID string `json:"logon_sid"`
	// Elevated says the caller's token is elevated (an administrator
	// past UAC).
	Elevated bool `json:"elevated"`
	// ProfileDir is %USERPROFILE%.
	ProfileDir string `json:"profile_dir"`
	// LocalAppData is %LOCALAPPDATA%.
	LocalAppData string `json:"local_app_data"`
	// TempDir is the real user's %TEMP%.
	TempDir string `json:"temp_dir"`
	// SystemRoot is %SystemRoot% (C:\Windows).
	SystemRoot string `json:"system_root"`
	// ProgramFiles is %ProgramFiles%.
	ProgramFiles string `json:"program_files"`
	// PATH and PATHEXT are the caller's values.
	PATH    string `json:"path"`
	PATHEXT string `json:"pathext"`
	// NumCPU is the number of logical processors (for the CPU rate).
	NumCPU int `json:"num_cpu"`
	// SIDSeed is the per-user secret from which sbx derives its synthetic
	// SIDs (hex, 32 bytes), persisted in StateDir\sid-seed.
	SIDSeed string `json:"-"`
	// ExeDir is the directory holding sbx's binaries (runner, setup).
	ExeDir string `json:"exe_dir"`
	// Setup is what the elevated setup left on the host.
	Setup SetupState `json:"setup"`
	// FS answers questions about files (protected names, .git files).
	FS FS `json:"-"`
}

// SetupState is the elevated setup found on the host (its marker file and
// the accounts it names).
type SetupState struct {
	// Version is the marker's version; 0 when there is no marker.
	Version int `json:"version"`
	// GroupSID, OfflineSID and OnlineSID are the SIDs of the group and
	// users the setup created.
	GroupSID   string `json:"group_sid,omitempty"`
	OfflineSID string `json:"offline_sid,omitempty"`
	OnlineSID  string `json:"online_sid,omitempty"`
	// OfflineTemp and OnlineTemp are the sandbox users' temporary
	// directories (in their profiles).
	OfflineTemp string `json:"offline_temp,omitempty"`
	OnlineTemp  string `json:"online_temp,omitempty"`
	// ReadACLs says how far the asynchronous read-ACL pass got:
	// "done", "in progress", "failed" or "".
	ReadACLs string `json:"read_acls,omitempty"`
	// Credentials says the DPAPI-encrypted passwords are stored.
	Credentials bool `json:"credentials"`
}

// Done says the elevated setup is complete and current.
func (s SetupState) Done() bool {
	return s.Version == SetupVersion && s.OfflineSID != "" && s.OnlineSID != "" && s.GroupSID != "" && s.Credentials
}

// StateDir is where sbx keeps its per-user state on Windows
// (%LOCALAPPDATA%\sbx): the SID seed, the ACL journal, the secrets.
func (f HostFacts) StateDir() string { return winJoin(f.LocalAppData, "sbx") }

// DenyBinDir is the directory of network-tool stubs put first on PATH.
func (f HostFacts) DenyBinDir() string { return winJoin(f.StateDir(), "denybin") }

// SecretsDir holds the DPAPI-encrypted sandbox-user passwords.
func (f HostFacts) SecretsDir() string { return winJoin(f.StateDir(), "secrets") }

// JournalPath is the ACL journal.
func (f HostFacts) JournalPath() string { return winJoin(f.StateDir(), "acl-journal.json") }

// RunnerPath is the command runner binary.
func (f HostFacts) RunnerPath() string { return winJoin(f.ExeDir, "sbx-windows-runner.exe") }

// SetupExePath is the setup binary.
func (f HostFacts) SetupExePath() string { return winJoin(f.ExeDir, "sbx-windows-setup.exe") }

// FS is the little file-system access the plan needs. The real one uses
// os.Lstat and os.ReadFile; MapFS is a fake.
type FS interface {
	// Stat reports whether path exists and is a directory, without
	// following a final reparse point.
	Stat(path string) (exists, isDir bool)
	// ReadFile reads a small file (a ".git" file).
	ReadFile(path string) ([]byte, error)
}

// MapFS is an in-memory FS keyed by case-folded Windows path. A value of
// nil means a directory; any other value is a file's content.
type MapFS map[string][]byte

// Stat implements FS.
func (m MapFS) Stat(path string) (bool, bool) {
	for k, v := range m {
		if winEqual(k, path) {
			return true, v == nil
		}
	}
	return false, false
}

// ReadFile implements FS.
func (m MapFS) ReadFile(path string) ([]byte, error) {
	for k, v := range m {
		if winEqual(k, path) && v != nil {
			return v, nil
		}
	}
	return nil, errNoFile
}

type errString string

func (e errString) Error() string { return string(e) }

const errNoFile = errString("file does not exist")

// FakeFacts returns fixed, plausible facts of a Windows host: user "alice"
// with a workspace at C:\work, setup not done. Non-Windows builds use them
// so that plans can be printed and compared anywhere; tests change fields
// as they need.
func FakeFacts() HostFacts {
	return HostFacts{
		Real:         false,
		UserName:     `HOST\alice`,
		UserSID:      "S-1-5-21-1111111111-2222222222-3333333333-1001",
		LogonSID:     "S-1-5-5-0-123456",
		ProfileDir:   `C:\Users\alice`,
		LocalAppData: `C:\Users\alice\AppData\Local`,
		TempDir:      `C:\Users\alice\AppData\Local\Temp`,
		SystemRoot:   `C:\Windows`,
		ProgramFiles: `C:\Program Files`,
		PATH:         `C:\Windows\system32;C:\Windows;C:\Program Files\Git\cmd`,
		PATHEXT:      ".COM;.EXE;.BAT;.CMD;.VBS;.JS;.WS;.MSC",
		NumCPU:       8,
		SIDSeed:      strings.Repeat("5b", 32),
		ExeDir:       `C:\Program Files\sbx`,
		FS: MapFS{
			`C:\work`:      nil,
			`C:\work\.git`: nil,
		},
	}
}

// FakeSetupDone returns FakeFacts with a completed elevated setup.
func FakeSetupDone() HostFacts {
	f := FakeFacts()
	f.Setup = SetupState{
		Version:     SetupVersion,
		GroupSID:    "S-1-5-21-1111111111-2222222222-3333333333-1010",
		OfflineSID:  "S-1-5-21-1111111111-2222222222-3333333333-1011",
		OnlineSID:   "S-1-5-21-1111111111-2222222222-3333333333-1012",
		OfflineTemp: `C:\Users\sbx-offline\AppData\Local\Temp`,
		OnlineTemp:  `C:\Users\sbx-online\AppData\Local\Temp`,
		ReadACLs:    "done",
		Credentials: true,
	}
	return f
}

// OSFS is the FS of the real file system.
type OSFS struct{}

// Stat implements FS (os.Lstat: a final symlink or junction is not
// followed).
func (OSFS) Stat(path string) (bool, bool) {
	fi, err := os.Lstat(path)
	if err != nil {
		return false, false
	}
	return true, fi.IsDir()
}

// ReadFile implements FS.
func (OSFS) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }
