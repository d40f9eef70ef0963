package sandbox

// Version is the version of [Config]. A helper refuses a configuration of
// another version. 2: mount flags (nosuid, nodev, noexec) come from
// Mount.Options instead of being chosen by the helper. 3: the binary
// encoding of [Config.MarshalBinary] instead of JSON.
const Version = 3

// Role names: the plugin starts the helper with one of them as argv[0].
const (
	// RoleProbe tries user, mount, pid and network namespaces and exits.
	RoleProbe = "sbx-linux-probe"
	// RoleExec applies Landlock + seccomp and executes the command
	// (linux-landlock).
	RoleExec = "sbx-linux-landlock"
	// RoleInit is the pid-namespace init: mounts, confines, starts the
	// command, reaps, relays its status (linux-namespaces).
	RoleInit = "sbx-linux-ns-init"
)

// SpareArg, as argv[1] after the role, starts the exec or init role as a
// spare (proc.StartSpare): it waits for a run to be handed over
// (standard streams, configuration and status descriptors, working
// directory) before it reads its configuration.
const SpareArg = "--spare"

// File descriptors the plugin hands to a helper.
const (
	// ConfigFD carries the Config, encoded by [Config.MarshalBinary],
	// read to EOF.
	ConfigFD = 3
	// StatusFD receives a Status as JSON, written on failure or at exit.
	StatusFD = 4
)

// Mount operations, applied in order (see [Mount]).
const (
	MountPrivate   = "make-rprivate"       // no propagation either way (a host mount appearing later stays out)
	MountRootRO    = "bind-root-read-only" // the host's / recursively, read-only
	MountBindRW    = "bind-read-write"     // Source on Target, writable
	MountBindRO    = "bind-read-only"      // Source on Target, read-only
	MountTmpfs     = "tmpfs"               // a new private tmpfs
	MountProc      = "proc"                // a new proc for the pid namespace
	MountDevNode   = "bind-device"         // a host device node
	MountDevpts    = "devpts"              // a new devpts instance
	MountSymlink   = "symlink"             // Target -> Source, in a tmpfs
	MountPivotRoot = "pivot-root"          // switch to the new root
	MountReadOnly  = "read-only-again"     // a path of the new root bound on itself read-only
	MountConsole   = "bind-console"        // the helper's stdin, when a terminal, bound at Target
)

// Config is everything a helper needs to confine and start the command.
type Config struct {
	// Version must equal [Version].
	Version int `json:"version"`
	// Mounts are applied in order in the new mount namespace (RoleInit).
	Mounts []Mount `json:"mounts,omitempty"`
	// Loopback brings "lo" up in the new network namespace (RoleInit).
	Loopback bool `json:"loopback,omitempty"`
	// DropCapabilities empties the bounding, ambient and inheritable sets.
	DropCapabilities bool `json:"drop_capabilities,omitempty"`
	// Landlock is the ruleset to enforce, nil for none.
	Landlock *Landlock `json:"landlock,omitempty"`
	// Seccomp is the filter to load, nil for none (no_new_privs is set
	// either way).
	Seccomp *Seccomp `json:"seccomp,omitempty"`
	// Path is the executable; Argv, Dir and Env are the command's.
	Path string   `json:"path"`
	Argv []string `json:"argv"`
	Dir  string   `json:"dir"`
	Env  []string `json:"env"`
}

// Mount is one mount step. Targets are paths inside the sandbox.
type Mount struct {
	Op     string `json:"op"`
	Source string `json:"source,omitempty"`
	Target string `json:"target"`
	// Options are the flags nosuid, nodev and noexec and the file
	// system's own options, comma-separated (tmpfs, proc and devpts).
	Options string `json:"options,omitempty"`
}

// Landlock is a Landlock ruleset with the kernel's bit values.
type Landlock struct {
	// ABI is the lowest Landlock ABI the ruleset needs; the helper refuses
	// to run on a kernel with a lower one.
	ABI        int    `json:"abi"`
	HandledFS  uint64 `json:"handled_fs"`
	HandledNet uint64 `json:"handled_net,omitempty"`
	Scoped     uint64 `json:"scoped,omitempty"`
	Rules      []Rule `json:"rules"`
	// Terminal is granted on each of the helper's standard input, output
	// and error that is a terminal (the run's own), through the open file,
	// so no other terminal gets it.
	Terminal uint64 `json:"terminal,omitempty"`
}

// Rule grants Access beneath Path (on Path itself for a file).
type Rule struct {
	Path string `json:"path"`
	// Dir says Path must be a directory (else a file); a path that is no
	// longer of that kind, or is a symlink, is refused.
	Dir    bool   `json:"dir,omitempty"`
	Access uint64 `json:"access"`
}

// Seccomp is a seccomp filter, compiled by the plugin with libseccomp
// from the plan's rules, so the helper needs neither libseccomp nor cgo
// (cgo alone costs a helper about a millisecond to start).
type Seccomp struct {
	// BPF is the program: struct sock_filter instructions, 8 bytes each,
	// in this machine's byte order.
	BPF []byte `json:"bpf"`
}

// Status is what a helper reports back on StatusFD.
type Status struct {
	// Error is set when the helper could not confine or start the command.
	Error string `json:"error,omitempty"`
	// Class names the error class of Error: "unsupported", "permission",
	// "not found".
	Class string `json:"class,omitempty"`
	// Exit and Signal are the command's status (RoleInit).
	Exit   *int `json:"exit,omitempty"`
	Signal int  `json:"signal,omitempty"`
}
