package windows

import (
	"fmt"
	"runtime"

	"github.com/sbxdev/sbx/backends/windows/protocol"
	"sort"
	"strings"
	"sync"
)

// fakeOS implements every OS interface of the package in memory. It records
// the calls in order, tracks open handles, and checks the invariants the
// real code must keep: a process is never resumed outside a job.
type fakeOS struct {
	mu        sync.Mutex
	next      Handle
	open      map[Handle]string
	calls     []string
	fail      map[string]error // call name → error to return
	violation []string

	procs map[Handle]*fakeProc // by process handle
	exit  chan uint32          // exit code the next resumed process returns
	// beforeExit, when set, runs in Wait before the exit is reported (a
	// command that reads its input before it exits).
	beforeExit func()

	dacl  map[string]string // path → SDDL
	users map[string]string // name → SID
	wfp   int
}

type fakeProc struct {
	thread  Handle
	inJob   Handle
	resumed bool
	done    chan uint32
}

func newFakeOS() *fakeOS {
	return &fakeOS{next: 100, open: map[Handle]string{}, fail: map[string]error{}, procs: map[Handle]*fakeProc{},
		exit: make(chan uint32, 1), dacl: map[string]string{}, users: map[string]string{}}
}

func (f *fakeOS) call(name string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := name
	if len(args) > 0 {
		s += fmt.Sprintf("%v", args)
	}
	f.calls = append(f.calls, s)
	return f.fail[name]
}

func (f *fakeOS) handle(kind string) Handle {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.open[f.next] = kind
	return f.next
}

func (f *fakeOS) callNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, strings.SplitN(c, "[", 2)[0])
	}
	return out
}

func (f *fakeOS) leaks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for h, k := range f.open {
		out = append(out, fmt.Sprintf("%s#%d", k, h))
	}
	sort.Strings(out)
	return out
}

func (f *fakeOS) Close(h Handle) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.open[h]; !ok {
		f.violation = append(f.violation, fmt.Sprintf("close of unknown or already closed handle %d", h))
	}
	if f.open[h] == "job" {
		// KILL_ON_JOB_CLOSE
		for _, p := range f.procs {
			if p.inJob == h {
				select {
				case p.done <- 1:
				default:
				}
			}
		}
	}
	delete(f.open, h)
	return nil
}

// TokenAPI

func (f *fakeOS) OpenSelf() (Handle, error) {
	if err := f.call("OpenSelf"); err != nil {
		return 0, err
	}
	return f.handle("token"), nil
}

func (f *fakeOS) Restrict(tok Handle, flags uint32, denyOnly, restricting []string) (Handle, error) {
	if err := f.call("Restrict", restricting); err != nil {
		return 0, err
	}
	return f.handle("restricted-token"), nil
}

func (f *fakeOS) SetDefaultDACL(tok Handle, sddl string) error { return f.call("SetDefaultDACL") }

// JobAPI

func (f *fakeOS) CreateJob() (Handle, error) {
	if err := f.call("CreateJob"); err != nil {
		return 0, err
	}
	return f.handle("job"), nil
}

func (f *fakeOS) SetLimits(job Handle, j JobPlan) error { return f.call("SetLimits") }

func (f *fakeOS) Assign(job, proc Handle) error {
	if err := f.call("Assign"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs[proc].inJob = job
	return nil
}

func (f *fakeOS) TerminateJob(job Handle, code uint32) error {
	f.call("TerminateJob", code)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.procs {
		if p.inJob == job {
			select {
			case p.done <- code:
			default:
			}
		}
	}
	return nil
}

// ProcessAPI

func (f *fakeOS) CreateAsUser(tok Handle, spec ChildSpec) (Process, error) {
	if err := f.call("CreateAsUser"); err != nil {
		return Process{}, err
	}
	if spec.Flags&CreateSuspended == 0 {
		f.violation = append(f.violation, "process created without CREATE_SUSPENDED")
	}
	p, t := f.handle("process"), f.handle("thread")
	f.mu.Lock()
	f.procs[p] = &fakeProc{thread: t, done: make(chan uint32, 1)}
	f.mu.Unlock()
	return Process{Process: p, Thread: t, PID: uint32(p)}, nil
}

func (f *fakeOS) Resume(thread Handle) error {
	if err := f.call("Resume"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.procs {
		if p.thread == thread {
			if p.inJob == 0 {
				f.violation = append(f.violation, "process resumed outside a job")
			}
			p.resumed = true
			select {
			case code := <-f.exit:
				p.done <- code
			default:
			}
		}
	}
	return nil
}

func (f *fakeOS) TerminateProcess(proc Handle, code uint32) error {
	f.call("TerminateProcess")
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.procs[proc]; p != nil {
		select {
		case p.done <- code:
		default:
		}
	}
	return nil
}

func (f *fakeOS) Wait(proc Handle) (uint32, error) {
	f.mu.Lock()
	p := f.procs[proc]
	before := f.beforeExit
	f.mu.Unlock()
	if before != nil {
		before()
	}
	return <-p.done, nil
}

func (f *fakeOS) CtrlBreak(pid uint32) error { return f.call("CtrlBreak") }

// ACLAPI

func (f *fakeOS) GetDACL(path string) (string, error) {
	if err := f.call("GetDACL", path); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.dacl[winKey(path)]; ok {
		return d, nil
	}
	return "D:(A;OICIID;FA;;;SY)", nil
}

func (f *fakeOS) AddACEs(path string, aces []ACE) error {
	if err := f.call("AddACEs", path); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.dacl[winKey(path)]
	if !ok {
		d = "D:(A;OICIID;FA;;;SY)"
	}
	for _, a := range aces {
		// Deny ACEs go first, as SetEntriesInAcl orders them.
		if a.Kind == Deny {
			d = "D:" + a.SDDL() + strings.TrimPrefix(d, "D:")
		} else {
			d += a.SDDL()
		}
	}
	f.dacl[winKey(path)] = d
	return nil
}

func (f *fakeOS) SetDACL(path, sddl string) error {
	if err := f.call("SetDACL", path); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dacl[winKey(path)] = sddl + "(A;OICIID;FA;;;SY)"
	return nil
}

// UserAPI

func (f *fakeOS) CreateGroup(name, comment string) (string, error) {
	if err := f.call("CreateGroup", name); err != nil {
		return "", err
	}
	f.users[name] = "S-1-5-21-9-9-9-" + fmt.Sprint(1000+len(f.users))
	return f.users[name], nil
}
func (f *fakeOS) DeleteGroup(name string) error {
	delete(f.users, name)
	return f.call("DeleteGroup", name)
}
func (f *fakeOS) CreateUser(name, password, comment string) (string, error) {
	if err := f.call("CreateUser", name); err != nil {
		return "", err
	}
	if len(password) < 20 {
		f.violation = append(f.violation, "weak password for "+name)
	}
	f.users[name] = "S-1-5-21-9-9-9-" + fmt.Sprint(1000+len(f.users))
	return f.users[name], nil
}
func (f *fakeOS) SetPassword(name, password string) error { return f.call("SetPassword", name) }
func (f *fakeOS) DeleteUser(name string) error {
	delete(f.users, name)
	return f.call("DeleteUser", name)
}
func (f *fakeOS) AddToGroup(group, user string) error { return f.call("AddToGroup", group, user) }
func (f *fakeOS) CreateProfile(name, password string) (string, error) {
	if err := f.call("CreateProfile", name); err != nil {
		return "", err
	}
	return `C:\Users\` + name, nil
}
func (f *fakeOS) DeleteProfile(sid string) error { return f.call("DeleteProfile") }

// FirewallAPI

func (f *fakeOS) Install(filters []WFPFilter) error {
	if err := f.call("WFPInstall"); err != nil {
		return err
	}
	f.wfp = len(filters)
	return nil
}
func (f *fakeOS) Uninstall() error {
	f.wfp = 0
	return f.call("WFPUninstall")
}
func (f *fakeOS) Installed() (int, error) { return f.wfp, nil }

func (f *fakeOS) apis() LaunchAPIs { return LaunchAPIs{Token: f, Job: f, Process: f} }

// fakeStdio gives the child preset output and records its input.
type fakeStdio struct {
	out, errOut string
	in          *closeBuffer
	closed      bool
	started     bool
}

type closeBuffer struct {
	mu     sync.Mutex
	b      strings.Builder
	closed bool
}

func (c *closeBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.Write(p)
}
func (c *closeBuffer) Close() error { c.mu.Lock(); c.closed = true; c.mu.Unlock(); return nil }

// waitClosed returns the content once the writer closed it.
func (c *closeBuffer) waitClosed() string {
	for {
		c.mu.Lock()
		if c.closed {
			defer c.mu.Unlock()
			return c.b.String()
		}
		c.mu.Unlock()
		runtime.Gosched()
	}
}

func (s *fakeStdio) Open(tty *protocol.Resize) (*ChildStdio, error) {
	s.in = &closeBuffer{}
	return &ChildStdio{
		In: 1, Out: 2, Err: 3,
		Stdin: s.in, Stdout: strings.NewReader(s.out), Stderr: strings.NewReader(s.errOut),
		AfterStart: func() { s.started = true },
		Close:      func() { s.closed = true },
	}, nil
}

type fakeFiles struct{ written map[string]map[string]string }

func (f *fakeFiles) WriteFiles(dir string, files map[string]string) error {
	if f.written == nil {
		f.written = map[string]map[string]string{}
	}
	f.written[dir] = files
	return nil
}

type fakeDesktop struct{ prepared, undone int }

func (d *fakeDesktop) Prepare(DesktopPlan) (func(), error) {
	d.prepared++
	return func() { d.undone++ }, nil
}

// memStore is an in-memory JournalStore.
type memStore struct {
	mu sync.Mutex
	b  []byte
}

func (m *memStore) Load() ([]byte, error) { return m.b, nil }
func (m *memStore) Save(b []byte) error   { m.b = append([]byte(nil), b...); return nil }
func (m *memStore) Lock() (func(), error) { m.mu.Lock(); return m.mu.Unlock, nil }
