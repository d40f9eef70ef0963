package linux

import (
	"encoding/json"
	"fmt"
	"strings"
)

// AccessFS is a set of Landlock file-system access rights, with the
// kernel's bit values (LANDLOCK_ACCESS_FS_*). It is kept here, instead of
// using go-landlock's type, so that plans stay pure and build on every OS.
type AccessFS uint64

// Landlock file-system access rights.
const (
	FSExecute     AccessFS = 1 << 0  // ABI 1
	FSWriteFile   AccessFS = 1 << 1  // ABI 1
	FSReadFile    AccessFS = 1 << 2  // ABI 1
	FSReadDir     AccessFS = 1 << 3  // ABI 1
	FSRemoveDir   AccessFS = 1 << 4  // ABI 1
	FSRemoveFile  AccessFS = 1 << 5  // ABI 1
	FSMakeChar    AccessFS = 1 << 6  // ABI 1
	FSMakeDir     AccessFS = 1 << 7  // ABI 1
	FSMakeReg     AccessFS = 1 << 8  // ABI 1
	FSMakeSock    AccessFS = 1 << 9  // ABI 1
	FSMakeFifo    AccessFS = 1 << 10 // ABI 1
	FSMakeBlock   AccessFS = 1 << 11 // ABI 1
	FSMakeSym     AccessFS = 1 << 12 // ABI 1
	FSRefer       AccessFS = 1 << 13 // ABI 2
	FSTruncate    AccessFS = 1 << 14 // ABI 3
	FSIoctlDev    AccessFS = 1 << 15 // ABI 5
	FSResolveUnix AccessFS = 1 << 16 // ABI 9
)

var fsNames = []string{
	"execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file",
	"make_char", "make_dir", "make_reg", "make_sock", "make_fifo", "make_block",
	"make_sym", "refer", "truncate", "ioctl_dev", "resolve_unix",
}

// Groups of rights used by plans.
const (
	// fsRead: reading and executing files, listing directories.
	fsRead = FSExecute | FSReadFile | FSReadDir
	// fsFileWrite: the rights that apply to a file itself (not to a
	// directory's entries).
	fsFileWrite = FSWriteFile | FSTruncate
	// fsDirWrite: creating, removing and renaming entries of a directory.
	fsDirWrite = FSRemoveDir | FSRemoveFile | FSMakeChar | FSMakeDir | FSMakeReg | FSMakeSock |
		FSMakeFifo | FSMakeBlock | FSMakeSym | FSRefer
	// fsFileOnly: the rights the kernel accepts in a rule on a non-directory.
	fsFileOnly = FSExecute | FSWriteFile | FSReadFile | FSTruncate | FSIoctlDev
)

// SupportedFS returns the file-system rights Landlock ABI abi knows.
func SupportedFS(abi int) AccessFS {
	switch {
	case abi <= 0:
		return 0
	case abi == 1:
		return (1 << 13) - 1
	case abi == 2:
		return (1 << 14) - 1
	case abi <= 4:
		return (1 << 15) - 1
	case abi <= 8:
		return (1 << 16) - 1
	default:
		return (1 << 17) - 1
	}
}

// String lists the rights by name, separated by commas.
func (a AccessFS) String() string { return bitNames(uint64(a), fsNames) }

// MarshalJSON writes the rights as a list of names.
func (a AccessFS) MarshalJSON() ([]byte, error) { return json.Marshal(bitList(uint64(a), fsNames)) }

// AccessNet is a set of Landlock network access rights
// (LANDLOCK_ACCESS_NET_*).
type AccessNet uint64

// Landlock network access rights.
const (
	NetBindTCP        AccessNet = 1 << 0 // ABI 4
	NetConnectTCP     AccessNet = 1 << 1 // ABI 4
	NetBindUDP        AccessNet = 1 << 2 // ABI 10
	NetConnectSendUDP AccessNet = 1 << 3 // ABI 10
)

var netNames = []string{"bind_tcp", "connect_tcp", "bind_udp", "connect_send_udp"}

// SupportedNet returns the network rights Landlock ABI abi knows.
func SupportedNet(abi int) AccessNet {
	switch {
	case abi < 4:
		return 0
	case abi < 10:
		return NetBindTCP | NetConnectTCP
	default:
		return NetBindTCP | NetConnectTCP | NetBindUDP | NetConnectSendUDP
	}
}

// String lists the rights by name.
func (a AccessNet) String() string { return bitNames(uint64(a), netNames) }

// MarshalJSON writes the rights as a list of names.
func (a AccessNet) MarshalJSON() ([]byte, error) { return json.Marshal(bitList(uint64(a), netNames)) }

// Scope is a set of Landlock IPC scopes (LANDLOCK_SCOPE_*).
type Scope uint64

// Landlock scopes.
const (
	ScopeAbstractUnix Scope = 1 << 0 // ABI 6
	ScopeSignal       Scope = 1 << 1 // ABI 6
)

var scopeNames = []string{"abstract_unix_socket", "signal"}

// SupportedScope returns the scopes Landlock ABI abi knows.
func SupportedScope(abi int) Scope {
	if abi < 6 {
		return 0
	}
	return ScopeAbstractUnix | ScopeSignal
}

// String lists the scopes by name.
func (s Scope) String() string { return bitNames(uint64(s), scopeNames) }

// MarshalJSON writes the scopes as a list of names.
func (s Scope) MarshalJSON() ([]byte, error) { return json.Marshal(bitList(uint64(s), scopeNames)) }

func bitList(v uint64, names []string) []string {
	out := []string{}
	for i, n := range names {
		if v&(1<<uint(i)) != 0 {
			out = append(out, n)
		}
	}
	if rest := v &^ ((1 << uint(len(names))) - 1); rest != 0 {
		out = append(out, fmt.Sprintf("0x%x", rest))
	}
	return out
}

func bitNames(v uint64, names []string) string {
	l := bitList(v, names)
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ",")
}

// UnmarshalJSON reads a list of right names.
func (a *AccessFS) UnmarshalJSON(b []byte) error {
	v, err := parseBits(b, fsNames)
	*a = AccessFS(v)
	return err
}

// UnmarshalJSON reads a list of right names.
func (a *AccessNet) UnmarshalJSON(b []byte) error {
	v, err := parseBits(b, netNames)
	*a = AccessNet(v)
	return err
}

// UnmarshalJSON reads a list of scope names.
func (s *Scope) UnmarshalJSON(b []byte) error {
	v, err := parseBits(b, scopeNames)
	*s = Scope(v)
	return err
}

// parseBits turns a JSON list of names back into bits; an unknown name is
// an error (a plan from a newer version must not lose rights silently).
func parseBits(b []byte, names []string) (uint64, error) {
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return 0, err
	}
	var v uint64
	for _, n := range list {
		found := false
		for i, name := range names {
			if n == name {
				v |= 1 << uint(i)
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown access right %q", n)
		}
	}
	return v, nil
}
