//go:build windows

package windows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	xw "golang.org/x/sys/windows"
)

// detectFacts reads the facts of this Windows host.
func detectFacts(ctx context.Context) (HostFacts, error) {
	f := HostFacts{Real: true, FS: OSFS{}, NumCPU: runtime.NumCPU()}
	tok := xw.GetCurrentProcessToken() // pseudo-handle: not closed
	tu, err := tok.GetTokenUser()
	if err != nil {
		return f, fmt.Errorf("read the token's user: %w", err)
	}
	f.UserSID = tu.User.Sid.String()
	if acct, dom, _, err := tu.User.Sid.LookupAccount(""); err == nil {
		f.UserName = dom + `\` + acct
	}
	if groups, err := tok.GetTokenGroups(); err == nil {
		for _, g := range groups.AllGroups() {
			if g.Attributes&xw.SE_GROUP_LOGON_ID == xw.SE_GROUP_LOGON_ID {
				f.LogonSID = g.Sid.String()
			}
		}
	}
	f.Elevated = tok.IsElevated()
	if f.ProfileDir, err = tok.GetUserProfileDirectory(); err != nil {
		return f, fmt.Errorf("find the user's profile directory: %w", err)
	}
	if f.LocalAppData, err = xw.KnownFolderPath(xw.FOLDERID_LocalAppData, 0); err != nil {
		return f, fmt.Errorf("find %%LOCALAPPDATA%%: %w", err)
	}
	f.TempDir = os.TempDir()
	if f.SystemRoot, err = xw.GetSystemWindowsDirectory(); err != nil {
		return f, err
	}
	f.ProgramFiles, _ = xw.KnownFolderPath(xw.FOLDERID_ProgramFiles, 0)
	f.PATH = os.Getenv("PATH")
	f.PATHEXT = os.Getenv("PATHEXT")
	if exe, err := os.Executable(); err == nil {
		f.ExeDir = filepath.Dir(exe)
	}
	if err := ensurePrivateDir(f.StateDir(), f.UserSID); err != nil {
		return f, err
	}
	if f.SIDSeed, err = loadOrCreateSeed(winJoin(f.StateDir(), "sid-seed")); err != nil {
		return f, err
	}
	f.Setup = readSetupState(f)
	return f, nil
}

// machineDir is %ProgramData%\sbx: the elevated setup's marker and logs.
func machineDir() string {
	pd, err := xw.KnownFolderPath(xw.FOLDERID_ProgramData, 0)
	if err != nil {
		pd = `C:\ProgramData`
	}
	return winJoin(pd, "sbx")
}

// readSetupState reads the elevated setup's marker and checks the stored
// credentials.
func readSetupState(f HostFacts) SetupState {
	var s SetupState
	m, err := fileMarkers{dir: machineDir()}.LoadMarker()
	if err != nil || m == nil {
		return s
	}
	s = SetupState{Version: m.Version, GroupSID: m.GroupSID, OfflineSID: m.OfflineSID, OnlineSID: m.OnlineSID,
		OfflineTemp: m.OfflineTemp, OnlineTemp: m.OnlineTemp, ReadACLs: m.ReadACLs}
	_, err = os.Stat(credentialsPath(f))
	s.Credentials = err == nil
	return s
}

// loadOrCreateSeed reads the SID seed, creating it on first use.
func loadOrCreateSeed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the SID seed: %w", err)
	}
	seed, err := NewSeed()
	if err != nil {
		return "", err
	}
	// O_EXCL: if two runs race, the loser reads the winner's seed.
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreateSeed(path)
	}
	if err != nil {
		return "", fmt.Errorf("create the SID seed: %w", err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(seed); err != nil {
		return "", fmt.Errorf("write the SID seed: %w", err)
	}
	return seed, nil
}

// ensurePrivateDir creates dir (and parents) if needed; a directory sbx
// creates gets a protected DACL for the user and SYSTEM only, applied at
// creation (no window where it is open). An existing reparse point is
// refused: it could redirect sbx's state elsewhere.
func ensurePrivateDir(dir, userSID string) error {
	if fi, err := os.Lstat(dir); err == nil {
		if fi.Mode()&os.ModeSymlink != 0 || fi.Mode()&os.ModeIrregular != 0 || !fi.IsDir() {
			return fmt.Errorf("%s is not a plain directory (a link or junction?); remove it and retry", dir)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	sa, err := securityAttributes(fmt.Sprintf("D:P(A;OICI;FA;;;%s)(A;OICI;FA;;;SY)", userSID))
	if err != nil {
		return fmt.Errorf("build the DACL of %s: %w", dir, err)
	}
	p, err := xw.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	if err := xw.CreateDirectory(p, sa); err != nil && !errors.Is(err, xw.ERROR_ALREADY_EXISTS) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// fileMarkers is the MarkerStore in %ProgramData%\sbx\setup.json.
type fileMarkers struct{ dir string }

func (s fileMarkers) path() string { return winJoin(s.dir, "setup.json") }

// LoadMarker reads the marker; no marker is (nil, nil).
func (s fileMarkers) LoadMarker() (*Marker, error) {
	b, err := os.ReadFile(s.path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Marker
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("setup marker %s is corrupt: %w", s.path(), err)
	}
	return &m, nil
}

// SaveMarker writes the marker atomically.
func (s fileMarkers) SaveMarker(m *Marker) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path(), b)
}

// RemoveMarker deletes the marker; a missing one is fine.
func (s fileMarkers) RemoveMarker() error {
	if err := os.Remove(s.path()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// fileJournal is a JournalStore in a file.
type fileJournal struct{ path string }

// Load reads the journal; no journal is (nil, nil).
func (j fileJournal) Load() ([]byte, error) {
	b, err := os.ReadFile(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Save writes the journal atomically (temporary file and rename).
func (j fileJournal) Save(b []byte) error { return writeFileAtomic(j.path, b) }

// Lock takes an exclusive LockFileEx lock on "<journal>.lock", waiting for
// another sbx process to release it.
func (j fileJournal) Lock() (func(), error) {
	p, err := xw.UTF16PtrFromString(j.path + ".lock")
	if err != nil {
		return nil, err
	}
	h, err := xw.CreateFile(p, xw.GENERIC_READ|xw.GENERIC_WRITE, xw.FILE_SHARE_READ|xw.FILE_SHARE_WRITE, nil, xw.OPEN_ALWAYS, xw.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s.lock: %w", j.path, err)
	}
	ol := new(xw.Overlapped)
	if err := xw.LockFileEx(h, xw.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol); err != nil {
		xw.CloseHandle(h)
		return nil, fmt.Errorf("lock %s.lock: %w", j.path, err)
	}
	return func() {
		xw.UnlockFileEx(h, 0, 1, 0, ol)
		xw.CloseHandle(h)
	}, nil
}

// writeFileAtomic writes a file through a temporary one and a rename.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
