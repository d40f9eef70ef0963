package probe

import (
	"path/filepath"
	"runtime"
	"slices"

	"github.com/sbxdev/sbx/core"
)

// Outcome is what the OS did with one probe's attempt.
type Outcome string

const (
	// OutcomeAllowed: the attempt succeeded (the boundary was crossed).
	OutcomeAllowed Outcome = "allowed"
	// OutcomeBlocked: the OS refused it (Detail has the errno).
	OutcomeBlocked Outcome = "blocked"
	// OutcomeError: the probe could not make its attempt (a broken setup),
	// so nothing is known about the boundary.
	OutcomeError Outcome = "error"
	// OutcomeSkipped: the probe does not apply here (Detail says why:
	// another OS, no IPv6 listener, no outside directory...).
	OutcomeSkipped Outcome = "skipped"
)

// Result is one probe's line of output: {"probe","outcome","detail"}.
type Result struct {
	// Probe is the probe's name (see [Probes]).
	Probe string `json:"probe"`
	// Outcome is what happened.
	Outcome Outcome `json:"outcome"`
	// Detail is the errno or message that explains the outcome.
	Detail string `json:"detail,omitempty"`
}

// Config is what the harness tells the probe program: where to write, what
// to dial, which process to signal. It travels as JSON in the program's
// only argument. Empty fields turn the probes that need them into skips.
type Config struct {
	// Workspace is the (scratch) workspace the command may write.
	Workspace string `json:"workspace"`
	// Outside is a directory outside every writable root and temporary
	// directory; "" when none could be found.
	Outside string `json:"outside,omitempty"`
	// OutsideFile is an existing file in Outside holding Nonce (the read
	// probe reads it, the hard-link probe links to it).
	OutsideFile string `json:"outside_file,omitempty"`
	// SameDevice is true when Outside and Workspace are on one file
	// system, so that a hard link between them is possible at all.
	SameDevice bool `json:"same_device,omitempty"`
	// SymlinkOut is a symbolic link in the workspace pointing at Outside.
	SymlinkOut string `json:"symlink_out,omitempty"`
	// ProtectedExisting is an existing protected directory in the
	// workspace (ws/.git).
	ProtectedExisting string `json:"protected_existing,omitempty"`
	// ProtectedMissing is a protected name in the workspace that does not
	// exist yet (ws/.sbx).
	ProtectedMissing string `json:"protected_missing,omitempty"`
	// TCP4, TCP6, UDP4 and UDP6 are the addresses of the harness's echo
	// listeners on 127.0.0.1 and ::1 ("" when one could not be started).
	TCP4 string `json:"tcp4,omitempty"`
	TCP6 string `json:"tcp6,omitempty"`
	UDP4 string `json:"udp4,omitempty"`
	UDP6 string `json:"udp6,omitempty"`
	// HTTP is the address of the harness's HTTP server (127.0.0.1:port).
	HTTP string `json:"http,omitempty"`
	// DNS is the address of the harness's fake DNS server (UDP).
	DNS string `json:"dns,omitempty"`
	// Terminal is a terminal (pty) the harness holds outside the sandbox,
	// standing for the user's terminal ("" when none could be made).
	Terminal string `json:"terminal,omitempty"`
	// SignalPid is a process outside the sandbox, owned by the same user
	// (the signal and ptrace probes' target).
	SignalPid int `json:"signal_pid,omitempty"`
	// Nonce is a random token the listeners echo, so that a probe knows
	// it reached the harness and not something inside the sandbox.
	Nonce string `json:"nonce"`
	// Only, when set, limits the run to these probes.
	Only []string `json:"only,omitempty"`
}

// Probe describes one probe: what it tries and which element of a policy
// (and so of a backend's report) decides whether it should get through.
type Probe struct {
	// Name is the probe's name, as printed in results and tables.
	Name string
	// Tries says in a few words what the probe attempts.
	Tries string
	// OS lists the GOOS values the probe runs on; empty means every OS.
	OS []string
	// Boundary is the boundary the probe tests.
	Boundary core.Boundary
	// Cooperative marks probes that honour advisory mechanisms (an HTTP
	// client that uses the proxy variables): an advisory element is meant
	// to stop them, and only them.
	Cooperative bool
	// HostMayBlock marks probes the host itself may refuse regardless of
	// the policy (raw sockets need CAP_NET_RAW, ptrace is limited by Yama):
	// being blocked where the policy allows it is not a backend's fault.
	HostMayBlock bool
	// subject returns the report subject of the element that decides the
	// probe, for policy p and harness config c.
	subject func(p core.Policy, c *Config) string
}

// RunsOn reports whether the probe applies on goos.
func (pr Probe) RunsOn(goos string) bool {
	return len(pr.OS) == 0 || slices.Contains(pr.OS, goos)
}

// Subject returns the report subject of the element that decides whether
// the probe should get through under p: the workspace for a write inside
// it, the protected name for a write into one, "everything else" for
// writes that leave the writable roots, "network", "reads", "process tree".
func (pr Probe) Subject(p core.Policy, c *Config) string { return pr.subject(p, c) }

// Probe names.
const (
	WriteWorkspace   = "write-workspace"
	WriteOutside     = "write-outside"
	WriteProtected   = "write-protected"
	CreateProtected  = "create-protected"
	WriteSymlinkOut  = "write-symlink-out"
	WriteHardlinkOut = "write-hardlink-out"
	WriteDetached    = "write-detached"
	ReadOutside      = "read-outside"
	TCP4Loopback     = "tcp-127.0.0.1"
	TCP6Loopback     = "tcp-::1"
	UDP4Loopback     = "udp-127.0.0.1"
	UDP6Loopback     = "udp-::1"
	HTTPDirect       = "http-ignoring-proxy"
	HTTPProxyEnv     = "http-honouring-proxy"
	DNSQuery         = "dns-udp-query"
	TIOCSTI          = "tiocsti"
	ReadTerminal     = "read-terminal"
	Ptrace           = "ptrace-outside"
	SignalOutside    = "signal-outside"
	Netlink          = "af-netlink"
	RawSocket        = "raw-socket"
)

var unixOS = []string{"linux", "darwin", "freebsd", "openbsd", "netbsd"}

// elsewhere is the subject of writes that leave the writable roots.
func elsewhere(core.Policy, *Config) string { return core.SubjectElsewhere }

// workspaceSubject is the workspace when it is writable, else
// "everything else".
func workspaceSubject(p core.Policy, _ *Config) string {
	if p.ReadOnly {
		return core.SubjectElsewhere
	}
	return filepath.Clean(p.Workspace)
}

// protectedSubject returns a subject function for the protected path that
// pick selects from the config: the protected name when the policy
// protects it in a writable workspace, else the workspace itself.
func protectedSubject(pick func(*Config) string) func(core.Policy, *Config) string {
	return func(p core.Policy, c *Config) string {
		name := filepath.Base(pick(c))
		if p.ReadOnly {
			return core.SubjectElsewhere
		}
		if slices.Contains(p.Protected, name) {
			return name
		}
		return workspaceSubject(p, c)
	}
}

func fixed(s string) func(core.Policy, *Config) string {
	return func(core.Policy, *Config) string { return s }
}

// Probes is every probe, in the order tables show them.
var Probes = []Probe{
	{Name: WriteWorkspace, Tries: "create a file in a directory of the workspace", Boundary: core.BoundaryWrite, subject: workspaceSubject},
	{Name: WriteOutside, Tries: "create a file outside every writable root", Boundary: core.BoundaryWrite, subject: elsewhere},
	{Name: WriteProtected, Tries: "create a file inside the existing protected .git directory", Boundary: core.BoundaryWrite,
		subject: protectedSubject(func(c *Config) string { return c.ProtectedExisting })},
	{Name: CreateProtected, Tries: "create a protected name that does not exist yet (mkdir .sbx)", Boundary: core.BoundaryWrite,
		subject: protectedSubject(func(c *Config) string { return c.ProtectedMissing })},
	{Name: WriteSymlinkOut, Tries: "write through a symbolic link in the workspace pointing outside", Boundary: core.BoundaryWrite, subject: elsewhere},
	{Name: WriteHardlinkOut, Tries: "hard-link an outside file into the workspace and write through the link", Boundary: core.BoundaryWrite, subject: elsewhere},
	{Name: WriteDetached, Tries: "write outside from a setsid, double-forked grandchild", OS: unixOS, Boundary: core.BoundaryWrite, subject: elsewhere},
	{Name: ReadOutside, Tries: "read a file outside the read set", Boundary: core.BoundaryRead, subject: fixed(core.SubjectReads)},
	{Name: TCP4Loopback, Tries: "TCP to the harness's echo listener on 127.0.0.1", Boundary: core.BoundaryNetwork, subject: fixed(core.SubjectNetwork)},
	{Name: TCP6Loopback, Tries: "TCP to the harness's echo listener on ::1", Boundary: core.BoundaryNetwork, subject: fixed(core.SubjectNetwork)},
	{Name: UDP4Loopback, Tries: "UDP to the harness's echo listener on 127.0.0.1", Boundary: core.BoundaryNetwork, subject: fixed(core.SubjectNetwork)},
	{Name: UDP6Loopback, Tries: "UDP to the harness's echo listener on ::1", Boundary: core.BoundaryNetwork, subject: fixed(core.SubjectNetwork)},
	{Name: HTTPDirect, Tries: "HTTP GET to the harness, dialling directly (ignores HTTP_PROXY)", Boundary: core.BoundaryNetwork, subject: fixed(core.SubjectNetwork)},
	{Name: HTTPProxyEnv, Tries: "HTTP GET to the harness by a client that honours HTTP_PROXY", Boundary: core.BoundaryNetwork, Cooperative: true, subject: fixed(core.SubjectNetwork)},
	{Name: DNSQuery, Tries: "resolve a name through the harness's DNS server (UDP, no internet)", Boundary: core.BoundaryNetwork, subject: fixed(core.SubjectNetwork)},
	{Name: TIOCSTI, Tries: "push a byte into the input of a terminal outside the sandbox (ioctl TIOCSTI)", OS: []string{"linux"}, Boundary: core.BoundaryProcess, HostMayBlock: true, subject: fixed(core.SubjectProcessTree)},
	{Name: ReadTerminal, Tries: "open a terminal outside the sandbox for reading (what the user types in another window)", OS: []string{"linux"}, Boundary: core.BoundaryProcess, subject: fixed(core.SubjectProcessTree)},
	{Name: Ptrace, Tries: "ptrace-attach to a process outside the sandbox", OS: []string{"linux"}, Boundary: core.BoundaryProcess, HostMayBlock: true, subject: fixed(core.SubjectProcessTree)},
	{Name: SignalOutside, Tries: "signal a process outside the sandbox (kill(pid, 0))", OS: unixOS, Boundary: core.BoundaryProcess, subject: fixed(core.SubjectProcessTree)},
	{Name: Netlink, Tries: "list network interfaces over AF_NETLINK: more than loopback means the host's network", OS: []string{"linux"}, Boundary: core.BoundaryNetwork, HostMayBlock: true, subject: fixed(core.SubjectNetwork)},
	{Name: RawSocket, Tries: "open a raw IPv4 ICMP socket", OS: []string{"linux"}, Boundary: core.BoundaryNetwork, HostMayBlock: true, subject: fixed(core.SubjectNetwork)},
}

// Lookup returns the probe called name.
func Lookup(name string) (Probe, bool) {
	for _, pr := range Probes {
		if pr.Name == name {
			return pr, true
		}
	}
	return Probe{}, false
}

// ForOS returns the probes that run on goos ("" means this OS).
func ForOS(goos string) []Probe {
	if goos == "" {
		goos = runtime.GOOS
	}
	var out []Probe
	for _, pr := range Probes {
		if pr.RunsOn(goos) {
			out = append(out, pr)
		}
	}
	return out
}
