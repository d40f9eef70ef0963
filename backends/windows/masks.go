package windows

import (
	"fmt"
	"strings"
)

// Access-mask bits of files and directories (winnt.h). They are defined
// here, not taken from x/sys/windows, because the plan is built on every OS.
const (
	FileReadData        uint32 = 0x0001 // FILE_READ_DATA / FILE_LIST_DIRECTORY
	FileWriteData       uint32 = 0x0002 // FILE_WRITE_DATA / FILE_ADD_FILE
	FileAppendData      uint32 = 0x0004 // FILE_APPEND_DATA / FILE_ADD_SUBDIRECTORY
	FileReadEA          uint32 = 0x0008
	FileWriteEA         uint32 = 0x0010
	FileExecute         uint32 = 0x0020 // FILE_EXECUTE / FILE_TRAVERSE
	FileDeleteChild     uint32 = 0x0040
	FileReadAttributes  uint32 = 0x0080
	FileWriteAttributes uint32 = 0x0100
	Delete              uint32 = 0x00010000
	ReadControl         uint32 = 0x00020000
	WriteDAC            uint32 = 0x00040000
	WriteOwner          uint32 = 0x00080000
	Synchronize         uint32 = 0x00100000

	// FileGenericRead, FileGenericWrite and FileGenericExecute are the
	// generic mappings of files.
	FileGenericRead    = ReadControl | FileReadData | FileReadAttributes | FileReadEA | Synchronize
	FileGenericWrite   = ReadControl | FileWriteData | FileWriteAttributes | FileWriteEA | FileAppendData | Synchronize
	FileGenericExecute = ReadControl | FileReadAttributes | FileExecute | Synchronize

	// MaskModify is icacls' "M": read, write, execute and delete the
	// object itself. It deliberately lacks FILE_DELETE_CHILD, so a child
	// protected by a deny ACE cannot be deleted or renamed away through
	// its parent.
	MaskModify = FileGenericRead | FileGenericWrite | FileGenericExecute | Delete
	// MaskReadExecute is icacls' "RX".
	MaskReadExecute = FileGenericRead | FileGenericExecute
	// MaskDenyWrite is what a protected path denies: every way to change
	// its content, its streams, its attributes, its children, its name
	// and its security descriptor.
	MaskDenyWrite = FileWriteData | FileAppendData | FileWriteEA | FileWriteAttributes |
		FileDeleteChild | Delete | WriteDAC | WriteOwner
	// MaskFrozenDir is what a frozen directory (see freeze.go) grants on
	// itself: list, traverse, read its attributes and security descriptor
	// — icacls' "RX" — and nothing that adds, removes or renames an entry
	// (no FILE_ADD_FILE, FILE_ADD_SUBDIRECTORY, FILE_DELETE_CHILD), nor
	// DELETE, WRITE_DAC or WRITE_OWNER.
	MaskFrozenDir = MaskReadExecute
	// MaskDenyMove is what a directory on the way to a deeper protected
	// path denies, so the path cannot be renamed away and rebuilt: DELETE
	// (a rename needs it) and the rights to change its DACL or owner.
	MaskDenyMove = Delete | WriteDAC | WriteOwner
	// MaskGenericAll is GENERIC_ALL.
	MaskGenericAll uint32 = 0x10000000
)

// Inheritance flags of an ACE (the ACE header's flags, also the
// grfInheritance of EXPLICIT_ACCESS).
const (
	InheritObject    uint32 = 0x1 // OBJECT_INHERIT_ACE (OI)
	InheritContainer uint32 = 0x2 // CONTAINER_INHERIT_ACE (CI)
	InheritOnly      uint32 = 0x8 // INHERIT_ONLY_ACE (IO): not for the object itself
	InheritNone      uint32 = 0x0
	// InheritBoth is OI|CI: files and directories below inherit.
	InheritBoth = InheritObject | InheritContainer
	// InheritBelow is OI|CI|IO: everything below inherits the ACE, the
	// directory that holds it does not get it.
	InheritBelow = InheritObject | InheritContainer | InheritOnly
)

var maskNames = []struct {
	bit  uint32
	name string
}{
	{FileReadData, "READ_DATA"}, {FileWriteData, "WRITE_DATA"}, {FileAppendData, "APPEND_DATA"},
	{FileReadEA, "READ_EA"}, {FileWriteEA, "WRITE_EA"}, {FileExecute, "EXECUTE"},
	{FileDeleteChild, "DELETE_CHILD"}, {FileReadAttributes, "READ_ATTRIBUTES"},
	{FileWriteAttributes, "WRITE_ATTRIBUTES"}, {Delete, "DELETE"}, {ReadControl, "READ_CONTROL"},
	{WriteDAC, "WRITE_DAC"}, {WriteOwner, "WRITE_OWNER"}, {Synchronize, "SYNCHRONIZE"},
	{MaskGenericAll, "GENERIC_ALL"},
}

// MaskString names the bits of an access mask ("WRITE_DATA|DELETE").
func MaskString(m uint32) string {
	var parts []string
	for _, n := range maskNames {
		if m&n.bit != 0 {
			parts = append(parts, n.name)
			m &^= n.bit
		}
	}
	if m != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", m))
	}
	return strings.Join(parts, "|")
}

// InheritString is the SDDL form of inheritance flags ("OICI",
// "OICIIO", "").
func InheritString(f uint32) string {
	s := ""
	if f&InheritObject != 0 {
		s += "OI"
	}
	if f&InheritContainer != 0 {
		s += "CI"
	}
	if f&InheritOnly != 0 {
		s += "IO"
	}
	return s
}

// ACEKind is allow or deny.
type ACEKind string

// ACE kinds.
const (
	Allow ACEKind = "allow"
	Deny  ACEKind = "deny"
)

// ACE is one access-control entry the plan adds to a path's DACL.
type ACE struct {
	// Path is the file or directory.
	Path string `json:"path"`
	// Kind is allow or deny.
	Kind ACEKind `json:"kind"`
	// SID is the trustee.
	SID string `json:"sid"`
	// Mask is the access mask; MaskNames spells it out.
	Mask      uint32 `json:"mask"`
	MaskNames string `json:"mask_names"`
	// Inherit are the inheritance flags (OI, CI).
	Inherit uint32 `json:"inherit"`
	// Why says what the ACE is for.
	Why string `json:"why"`
	// Optional ACEs may fail without failing the run (the NUL device).
	Optional bool `json:"optional,omitempty"`
	// Stage is StageSetup for ACEs the elevated setup installs (as
	// administrator); the others are added by the run, as the real user.
	Stage string `json:"stage,omitempty"`
	// Replace says the plan owns this path's sbx ACEs: when the plan is
	// applied, explicit ACEs on the path naming any SID of the plan that
	// the plan does not list for the path are removed (a writable root
	// switching between frozen and fully writable must not keep the
	// other state's grant or deny).
	Replace bool `json:"replace,omitempty"`
}

// StageSetup marks ACEs installed by the elevated setup.
const StageSetup = "setup"

// SDDL is the ACE in SDDL ace-string form, e.g. "(A;OICI;0x1301bf;;;S-1-...)".
func (a ACE) SDDL() string {
	t := "A"
	if a.Kind == Deny {
		t = "D"
	}
	return fmt.Sprintf("(%s;%s;0x%x;;;%s)", t, InheritString(a.Inherit), a.Mask, a.SID)
}

func newACE(path string, kind ACEKind, sid string, mask, inherit uint32, why string) ACE {
	return ACE{Path: path, Kind: kind, SID: sid, Mask: mask, MaskNames: MaskString(mask), Inherit: inherit, Why: why}
}
