package darwin

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sbxdev/sbx/core"
)

// Profile is a Seatbelt profile and the parameters it refers to. It is run
// as
//
//	/usr/bin/sandbox-exec -p TEXT -D NAME=VALUE ... -- COMMAND
//
// The text depends only on the shape of the policy (how many roots, which
// modes, which paths lie inside which), never on the bytes of a path: every
// path, and every regular expression built from one, is a parameter.
type Profile struct {
	// Text is the profile in SBPL (Seatbelt's Scheme dialect).
	Text string `json:"text"`
	// Params are the -D parameters, in the order they are passed.
	Params []Param `json:"params"`
	// Rules is the number of top-level forms in Text.
	Rules int `json:"rules"`
}

// Param is one -D NAME=VALUE parameter of a profile.
type Param struct {
	// Name is the parameter's name, as the profile refers to it with
	// (param "NAME").
	Name string `json:"name"`
	// Value is a path or a regular expression, passed as is.
	Value string `json:"value"`
}

// Args returns the sandbox-exec arguments that load the profile:
// -p TEXT followed by -D NAME=VALUE for every parameter.
func (p *Profile) Args() []string {
	args := []string{"-p", p.Text}
	for _, prm := range p.Params {
		args = append(args, "-D", prm.Name+"="+prm.Value)
	}
	return args
}

// Lookup returns the value of the parameter name.
func (p *Profile) Lookup(name string) (string, bool) {
	for _, prm := range p.Params {
		if prm.Name == name {
			return prm.Value, true
		}
	}
	return "", false
}

// Parameter name prefixes; the index follows ("WRITABLE_ROOT_0").
const (
	paramWritableRoot  = "WRITABLE_ROOT_"
	paramTempDir       = "TMP_DIR_"
	paramReadableRoot  = "READABLE_ROOT_"
	paramProtectedPath = "PROTECTED_PATH_"
	paramProtectedName = "PROTECTED_NAME_RE_"
)

// grant is one directory the command may write beneath.
type grant struct {
	path  string // resolved
	param string
	temp  bool // a temporary directory rather than a writable root
}

// protectedPath is one resolved protected path (root/NAME, or a git
// directory a .git file points at).
type protectedPath struct {
	path  string
	param string
	name  string
}

// protectedName is one protected name inside one writable root, matched in
// every spelling by a regular expression.
type protectedName struct {
	root  string // resolved root
	name  string
	regex string
	param string
}

// resolved is a policy with every path resolved the way Seatbelt will see
// it, and a parameter name for each. It is the only input of generate.
type resolved struct {
	grants    []grant
	protPaths []protectedPath
	// protOutside are protected paths outside every grant: read-only
	// without a rule, listed in the plan's steps only.
	protOutside []string
	protNames   []protectedName
	// readRestricted limits reads to readable, the grants and the macOS
	// runtime paths.
	readRestricted bool
	readable       []grant // param names READABLE_ROOT_i; temp unused
	network        core.NetworkMode
	proxyPort      int
}

// params lists every parameter of r, in a stable order.
func (r *resolved) params() []Param {
	var out []Param
	for _, g := range r.grants {
		out = append(out, Param{g.param, g.path})
	}
	for _, g := range r.readable {
		out = append(out, Param{g.param, g.path})
	}
	for _, p := range r.protPaths {
		out = append(out, Param{p.param, p.path})
	}
	for _, n := range r.protNames {
		out = append(out, Param{n.param, n.regex})
	}
	return out
}

// resolvePolicy resolves every path of p with h and names the parameters.
// It fails on a path that cannot be resolved or holds a NUL byte, and on a
// protected name that cannot be matched: the profile is never built from a
// partial picture.
func resolvePolicy(p core.Policy, h Host, o Options) (*resolved, error) {
	resolve := h.Resolve
	if resolve == nil {
		resolve = MacOSLexicalResolve
	}
	r := &resolved{
		readRestricted: p.Read.Mode == core.ReadRestricted,
		network:        p.Network.Mode,
		proxyPort:      o.LoopbackProxyPort,
	}
	if o.LoopbackProxyPort < 0 || o.LoopbackProxyPort > 65535 {
		return nil, fmt.Errorf("%w: loopback proxy port %d is out of range (1-65535)", core.ErrInvalidPolicy, o.LoopbackProxyPort)
	}
	res := func(what, path string) (string, error) {
		out, err := resolve(path)
		if err != nil {
			return "", fmt.Errorf("%w: %s %q: %w", core.ErrInvalidPolicy, what, path, err)
		}
		return out, nil
	}

	// Writable roots, then temporary directories, without duplicates
	// (TMPDIR may well be a writable root's parent, or /tmp itself).
	seen := map[string]bool{}
	// core cleans paths with the local OS's separator; these are Mac
	// paths, so turn them back (a no-op except when planning on Windows).
	for _, w := range p.WritePaths() {
		rp, err := res("writable root", filepath.ToSlash(w))
		if err != nil {
			return nil, err
		}
		if seen[rp] {
			continue
		}
		seen[rp] = true
		r.grants = append(r.grants, grant{path: rp, param: paramWritableRoot + strconv.Itoa(len(r.grants))})
	}
	if p.WritableTmp {
		// The home directory, resolved like the temporary directories
		// it is compared with ("" when there is none or it does not
		// resolve: the check then only refuses "/").
		var home string
		if h.Home != "" {
			if rh, err := resolve(h.Home); err == nil {
				home = rh
			}
		}
		n := 0
		for _, t := range h.TempDirs {
			if t == "" {
				continue
			}
			rp, err := res("temporary directory", t)
			if err != nil {
				return nil, err
			}
			if err := checkTempDir(t, rp, home); err != nil {
				return nil, err
			}
			if seen[rp] {
				continue
			}
			seen[rp] = true
			r.grants = append(r.grants, grant{path: rp, param: paramTempDir + strconv.Itoa(n), temp: true})
			n++
		}
	}

	if r.readRestricted {
		rseen := map[string]bool{}
		for _, path := range p.Read.Paths {
			rp, err := res("readable path", path)
			if err != nil {
				return nil, err
			}
			if rseen[rp] {
				continue
			}
			rseen[rp] = true
			r.readable = append(r.readable, grant{path: rp, param: paramReadableRoot + strconv.Itoa(len(r.readable))})
		}
	}

	// Protected paths: what core found (root/NAME for every name and root,
	// plus git directories named by .git files), resolved.
	pseen := map[string]bool{}
	for _, pp := range core.ResolveProtected(p, h.ReadFile, h.Stat) {
		rp, err := res("protected path", filepath.ToSlash(pp.Path))
		if err != nil {
			return nil, err
		}
		if pseen[rp] {
			continue
		}
		pseen[rp] = true
		prot := protectedPath{path: rp, name: pp.Name}
		if !r.inAnyGrant(prot) {
			// Outside every writable directory (a worktree's git
			// directory elsewhere): read-only anyway, no rule needed.
			r.protOutside = append(r.protOutside, rp)
			continue
		}
		prot.param = paramProtectedPath + strconv.Itoa(len(r.protPaths))
		r.protPaths = append(r.protPaths, prot)
	}
	// Protected names in every spelling, directly inside every writable
	// root (temporary directories have no protected names).
	for _, g := range r.grants {
		if g.temp {
			continue
		}
		for _, name := range p.Protected {
			re, err := protectedNameRegex(g.path, name)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", core.ErrInvalidPolicy, err)
			}
			r.protNames = append(r.protNames, protectedName{root: g.path, name: name, regex: re, param: paramProtectedName + strconv.Itoa(len(r.protNames))})
		}
	}
	return r, nil
}

// checkTempDir refuses a temporary directory that would make far more than
// temporary files writable: "/" or the user's home directory or a parent of
// it (a mistaken or hostile $TMPDIR). home is the resolved home directory,
// "" when unknown.
func checkTempDir(name, resolved, home string) error {
	if resolved == "/" || home != "" && within(home, resolved) {
		return fmt.Errorf("%w: temporary directory %q (%s) is / or contains your home directory; refusing to make it writable: set TMPDIR to a real temporary directory, or set writable_tmp = false", core.ErrInvalidPolicy, name, resolved)
	}
	return nil
}

// inAnyGrant reports whether p lies in a grant it is excluded from.
func (r *resolved) inAnyGrant(p protectedPath) bool {
	for _, g := range r.grants {
		if within(p.path, g.path) && !withinFold(g.path, p.path) {
			return true
		}
	}
	return false
}

// exclusions returns the filters that take protected paths out of grant g:
// every protected path (and name) that lies inside g. A protected path that
// contains g is not excluded from it: g was granted explicitly inside the
// protected tree (a policy listing root/.git as a writable root of its own
// means it), and excluding it would make g useless.
func (r *resolved) exclusions(g grant) []string {
	var out []string
	for _, p := range r.protPaths {
		if !within(p.path, g.path) || withinFold(g.path, p.path) {
			continue
		}
		// literal: the path itself, including creating it; subpath:
		// everything beneath it.
		out = append(out, requireNot(literalParam(p.param)), requireNot(subpathParam(p.param)))
	}
	for _, n := range r.protNames {
		named := n.root + "/" + n.name
		if n.root == "/" {
			named = "/" + n.name
		}
		if !within(n.root, g.path) || withinFold(g.path, named) {
			continue
		}
		out = append(out, requireNot(regexParam(n.param)))
	}
	return out
}

// generate writes the profile for r. It is deterministic, and its text
// depends only on r's shape (counts, modes and which paths lie inside which
// grants), never on the bytes of a path.
func generate(r *resolved) *Profile {
	w := &sbplWriter{}
	w.form("(version 1)")
	w.comment("Generated by sbx (backend darwin-seatbelt). Paths are parameters (-D NAME=VALUE),")
	w.comment("never part of this text; see docs/backends/darwin.md.")
	w.form("(deny default)")

	w.blank()
	w.comment("Processes: children inherit this profile; signals and process")
	w.comment("information only within this sandbox.")
	w.rule("allow", []string{"process-exec"})
	w.rule("allow", []string{"process-fork"})
	w.rule("allow", []string{"signal"}, "(target same-sandbox)")
	w.rule("allow", []string{"process-info*"}, "(target same-sandbox)")
	w.comment("CPU counts and load (host_processor_info: Node's os.cpus()).")
	w.rule("allow", []string{"mach-host*"})

	w.blank()
	w.comment("System information: an allow-list of sysctls programs read at start.")
	w.rule("allow", []string{"sysctl-read"}, sysctlFilters()...)
	w.comment("Java reads the CPU type through a sysctl write.")
	w.rule("allow", []string{"sysctl-write"}, `(sysctl-name `+str("kern.grade_cputype")+`)`)

	w.blank()
	w.comment("Services: user and group lookup, logging, notifications, preferences")
	w.comment("(read only: cfprefsd checks user-preference-write, which is denied).")
	w.rule("allow", []string{"mach-lookup"}, globalNames(baseMachServices)...)
	w.rule("allow", []string{"user-preference-read"})
	w.rule("allow", []string{"ipc-posix-sem"})
	w.rule("allow", []string{"ipc-posix-shm-read*"}, `(ipc-posix-name `+str("apple.shm.notification_center")+`)`)
	w.comment("Unix-domain sockets may be created (socketpair for local IPC); connecting")
	w.comment("or binding them by path is network-outbound/network-bind, denied unless")
	w.comment("the network is allowed.")
	w.rule("allow", []string{"system-socket"}, `(socket-domain AF_UNIX)`)

	w.blank()
	w.comment("Devices and terminals. A pty slave is usable only if opened inside the")
	w.comment("sandbox (extension com.apple.sandbox.pty) or inherited as a descriptor.")
	w.rule("allow", []string{"file-read*", "file-write-data", "file-ioctl"},
		literal("/dev/null"), literal("/dev/zero"), literal("/dev/tty"), literal("/dev/dtracehelper"), literal("/dev/ptmx"))
	w.rule("allow", []string{"file-read*", "file-write-data"}, subpath("/dev/fd"))
	w.rule("allow", []string{"file-read*"}, literal("/dev/random"), literal("/dev/urandom"), literal("/dev/autofs_nowait"))
	w.rule("allow", []string{"pseudo-tty"})
	w.rule("allow", []string{"file-read*", "file-write-data", "file-ioctl"},
		requireAll(regexConst("^/dev/ttys[0-9]+$"), `(extension `+str("com.apple.sandbox.pty")+`)`))

	w.blank()
	if !r.readRestricted {
		w.comment("Reads: everything the user can read.")
		w.rule("allow", []string{"file-read*", "file-map-executable"})
	} else {
		w.comment("Reads: only the listed paths, the writable directories, and what")
		w.comment("programs need to run (system libraries, executables, configuration).")
		var fs []string
		fs = append(fs, literal("/"))
		for _, p := range runtimeReadPaths {
			fs = append(fs, subpath(p))
		}
		for _, p := range runtimeReadFiles {
			fs = append(fs, literal(p))
		}
		for _, g := range r.readable {
			fs = append(fs, subpathParam(g.param))
		}
		for _, g := range r.grants {
			fs = append(fs, subpathParam(g.param))
		}
		w.rule("allow", []string{"file-read*", "file-map-executable"}, fs...)
		w.comment("Metadata of the directories above them, so getcwd() and realpath() work.")
		var md []string
		for _, p := range runtimeMetadataPaths {
			md = append(md, literal(p))
		}
		for _, g := range r.readable {
			md = append(md, ancestorsParam(g.param))
		}
		for _, g := range r.grants {
			md = append(md, ancestorsParam(g.param))
		}
		w.rule("allow", []string{"file-read-metadata"}, md...)
	}

	w.blank()
	if len(r.grants) == 0 {
		w.comment("Writes: none (read-only policy without writable temporary directories).")
	} else {
		w.comment("Writes: only beneath the writable roots and temporary directories, and never")
		w.comment("to a protected path or name inside them (creating, renaming and deleting")
		w.comment("included). Protected names match in every letter case: see PROTECTED_NAME_RE_*.")
		var fs []string
		for _, g := range r.grants {
			ex := r.exclusions(g)
			if len(ex) == 0 {
				fs = append(fs, subpathParam(g.param))
				continue
			}
			fs = append(fs, "(require-all "+subpathParam(g.param)+"\n    "+strings.Join(ex, "\n    ")+")")
		}
		w.rule("allow", []string{"file-write*"}, fs...)
	}

	w.blank()
	switch {
	case r.network == core.NetworkAllow:
		w.comment("Network: allowed, with the services name resolution and TLS need.")
		w.rule("allow", []string{"network-outbound"})
		w.rule("allow", []string{"network-inbound"})
		w.rule("allow", []string{"network-bind"})
		w.rule("allow", []string{"system-socket"})
		w.rule("allow", []string{"mach-lookup"}, globalNames(networkMachServices)...)
		w.rule("allow", []string{"sysctl-read"}, `(sysctl-name-prefix `+str("net.routetable.")+`)`)
	case r.proxyPort > 0:
		w.comment("Network: denied, except TCP to the loopback proxy port.")
		w.rule("allow", []string{"system-socket"}, `(socket-domain AF_INET)`, `(socket-domain AF_INET6)`)
		w.rule("allow", []string{"network-outbound"}, `(remote ip `+str("localhost:"+strconv.Itoa(r.proxyPort))+`)`)
	default:
		w.comment("Network: denied (no network rule; deny default covers it, loopback included).")
	}
	return &Profile{Text: w.String(), Params: r.params(), Rules: w.rules}
}

// runtimeReadPaths are the directories every program may read (and map
// executable) when reads are restricted: the OS, its libraries and tools,
// the dyld shared cache (under /System), and the usual places of developer
// tools (Xcode, its command-line tools, Homebrew, MacPorts, Nix). None holds
// user data.
var runtimeReadPaths = []string{
	"/System",
	"/usr",
	"/bin",
	"/sbin",
	"/Library/Apple",
	"/Library/Frameworks",
	"/Library/Preferences",
	"/Library/Developer",
	"/Applications",
	"/opt/homebrew",
	"/opt/local",
	"/nix/store",
	"/private/etc",
	"/private/var/db/timezone",
	"/private/var/db/dyld",
	"/private/var/select",
}

// runtimeReadFiles are single files programs read when reads are
// restricted.
var runtimeReadFiles = []string{
	"/private/var/db/xcode_select_link",
	"/private/var/run/resolv.conf",
}

// runtimeMetadataPaths are the top-level symbolic links and directories
// whose metadata path resolution needs when reads are restricted.
var runtimeMetadataPaths = []string{
	"/etc",
	"/tmp",
	"/var",
	"/private",
	"/private/var",
	"/dev",
}

// sysctlNames are the sysctls programs commonly read to learn about the
// machine and themselves (CPU features and counts, OS version, page size,
// whether they run under Rosetta).
var sysctlNames = []string{
	"hw.activecpu", "hw.byteorder", "hw.cachelinesize", "hw.cachelinesize_compat",
	"hw.cpufamily", "hw.cpufrequency", "hw.cpufrequency_max", "hw.cpusubtype", "hw.cputype",
	"hw.l1dcachesize", "hw.l1dcachesize_compat", "hw.l1icachesize", "hw.l1icachesize_compat",
	"hw.l2cachesize", "hw.l2cachesize_compat", "hw.l3cachesize", "hw.l3cachesize_compat",
	"hw.logicalcpu", "hw.logicalcpu_max", "hw.machine", "hw.memsize", "hw.model", "hw.ncpu",
	"hw.nperflevels", "hw.packages", "hw.pagesize", "hw.pagesize_compat", "hw.physicalcpu",
	"hw.physicalcpu_max", "hw.tbfrequency", "hw.tbfrequency_compat", "hw.vectorunit",
	"kern.argmax", "kern.boottime", "kern.hostname", "kern.maxfiles", "kern.maxfilesperproc",
	"kern.maxproc", "kern.maxprocperuid", "kern.osproductversion", "kern.osrelease",
	"kern.ostype", "kern.osvariant_status", "kern.osversion", "kern.secure_kernel",
	"kern.usrstack64", "kern.version",
	"machdep.cpu.brand_string", "machdep.cpu.core_count", "machdep.cpu.thread_count",
	"sysctl.proc_cputype", "sysctl.proc_translated", "vm.loadavg",
}

// sysctlPrefixes are sysctl name prefixes allowed for reading.
var sysctlPrefixes = []string{
	"hw.optional.",
	"hw.perflevel",
	"machdep.cpu.features",
	"kern.proc.pid.",
}

func sysctlFilters() []string {
	var out []string
	for _, n := range sysctlNames {
		out = append(out, `(sysctl-name `+str(n)+`)`)
	}
	for _, p := range sysctlPrefixes {
		out = append(out, `(sysctl-name-prefix `+str(p)+`)`)
	}
	return out
}

// baseMachServices are the Mach services every program may look up. None
// of them acts on the file system or network on the caller's behalf beyond
// what the profile allows (cfprefsd and dirhelper check the caller's
// sandbox).
var baseMachServices = []string{
	"com.apple.system.opendirectoryd.libinfo",
	"com.apple.system.opendirectoryd.membership",
	"com.apple.system.DirectoryService.libinfo_v1",
	"com.apple.system.logger",
	"com.apple.logd",
	"com.apple.system.notification_center",
	"com.apple.cfprefsd.daemon",
	"com.apple.cfprefsd.agent",
	"com.apple.bsd.dirhelper",
}

// networkMachServices are the Mach services name resolution, network
// configuration and TLS certificate checks need; looked up only when the
// network is allowed.
var networkMachServices = []string{
	"com.apple.dnssd.service",
	"com.apple.SystemConfiguration.configd",
	"com.apple.SystemConfiguration.DNSConfiguration",
	"com.apple.networkd",
	"com.apple.SecurityServer",
	"com.apple.trustd",
	"com.apple.trustd.agent",
	"com.apple.ocspd",
}

func globalNames(names []string) []string {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	out := make([]string, len(sorted))
	for i, n := range sorted {
		out[i] = `(global-name ` + str(n) + `)`
	}
	return out
}
