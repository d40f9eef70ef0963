//go:build linux

package linux

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	"golang.org/x/sys/unix"
)

const cgroupRoot = "/sys/fs/cgroup"

// limitControllers are the controllers limits use.
var limitControllers = []string{"memory", "pids", "cpu"}

// probeCgroup finds where run cgroups can be created. The host's layout
// comes from cgroups.Mode().
//
//   - v2 (unified only) as root: a "sbx" cgroup under the root cgroup
//     (the root is exempt from the no-internal-processes rule, so its
//     controllers can be delegated to sbx).
//   - v2 unprivileged: the plugin's own cgroup when it is delegated to this
//     user (writable, with controllers enabled for children).
//   - hybrid or v1 as root: the memory, pids and cpu v1 hierarchies, under
//     the plugin's own cgroup in each.
//   - otherwise none, with the reason.
func probeCgroup(uid int) CgroupFacts {
	own, unified, _ := cgroups.ParseCgroupFileUnified("/proc/self/cgroup")
	switch cgroups.Mode() {
	case cgroups.Unavailable:
		return CgroupFacts{Mode: "none", Note: "no cgroup file system at " + cgroupRoot}
	case cgroups.Unified:
		f := CgroupFacts{Mode: "v2"}
		probeV2(&f, cgroupRoot, unified, uid)
		return f
	}
	f := CgroupFacts{Mode: "v1"}
	if cgroups.Mode() == cgroups.Hybrid {
		f.Mode = "hybrid"
	}
	if uid != 0 {
		if f.Mode == "hybrid" {
			probeV2(&f, filepath.Join(cgroupRoot, "unified"), unified, uid)
			if f.Version == 0 {
				f.Note = "hybrid host: the v1 controllers need root, and the v2 hierarchy has no delegated cgroup with controllers for this user (" + f.Note + ")"
			}
			return f
		}
		f.Note = "cgroup v1 limits need root"
		return f
	}
	f.Parents = map[string]string{}
	var st unix.Statfs_t
	for _, c := range limitControllers {
		dir := filepath.Join(cgroupRoot, c)
		if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.CGROUP_SUPER_MAGIC {
			continue
		}
		parent := filepath.Join(dir, own[c])
		if unix.Access(parent, unix.W_OK) != nil {
			continue
		}
		f.Parents[c] = parent
		f.Controllers = append(f.Controllers, c)
		if c == "memory" {
			f.Swap = exists(filepath.Join(dir, "memory.memsw.limit_in_bytes"))
		}
	}
	if len(f.Controllers) > 0 {
		f.Version = 1
	} else {
		f.Note = "no writable memory, pids or cpu v1 hierarchy"
	}
	return f
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// probeV2 fills f for a cgroup v2 hierarchy mounted at mnt; own is the
// plugin's cgroup in it.
func probeV2(f *CgroupFacts, mnt, own string, uid int) {
	// parent is where run cgroups go. The controllers they can use are
	// those listed in offered/cgroup.controllers, described by where.
	var parent, offered, where string
	if uid == 0 {
		// <mnt>/sbx: the hierarchy's root offers the controllers, and
		// NewChild enables them in sbx for each run.
		parent, offered, where = filepath.Join(mnt, "sbx"), mnt, "the v2 hierarchy at "+mnt
	} else {
		// A delegated cgroup: ours, writable, with controllers available
		// (cgroup.controllers). Runs become its children; the plugin moves
		// the processes of its own cgroup into a leaf first (the
		// no-internal-processes rule), see prepareDelegated.
		parent = filepath.Join(mnt, own)
		offered, where = parent, "the delegated cgroup "+parent
		if unix.Access(filepath.Join(parent, "cgroup.procs"), unix.W_OK) != nil ||
			unix.Access(filepath.Join(parent, "cgroup.subtree_control"), unix.W_OK) != nil {
			f.Note = "the plugin's cgroup " + parent + " is not delegated to this user (start sbx under systemd-run --user --scope -p Delegate=yes)"
			return
		}
	}
	avail := readWords(filepath.Join(offered, "cgroup.controllers"))
	for _, c := range limitControllers {
		if avail[c] {
			f.Controllers = append(f.Controllers, c)
		}
	}
	if len(f.Controllers) == 0 {
		f.Note = where + " has no memory, pids or cpu controller"
		return
	}
	f.Version = 2
	f.Parents = map[string]string{"unified": parent}
	// Swap accounting shows as memory.swap.max in non-root cgroups.
	if exists(filepath.Join(parent, "memory.swap.max")) {
		f.Swap = true
	} else if m, _ := filepath.Glob(filepath.Join(mnt, "*", "memory.swap.max")); len(m) > 0 {
		f.Swap = true
	}
}

func readWords(path string) map[string]bool {
	b, err := os.ReadFile(path)
	out := map[string]bool{}
	if err != nil {
		return out
	}
	for _, w := range strings.Fields(string(b)) {
		out[w] = true
	}
	return out
}

var runSeq atomic.Int64

// runCgroup is the cgroup of one run, managed by containerd/cgroups: a
// cgroup2 manager on v2, a cgroup1 group restricted to the memory, pids
// and cpu hierarchies on v1.
type runCgroup struct {
	v2 *cgroup2.Manager // set on v2
	v1 cgroup1.Cgroup   // set on v1
	// dirs maps a controller (or "unified") to the run's cgroup directory,
	// where the limit events are read.
	dirs map[string]string
}

// newRunCgroup creates the run's cgroups with the plan's limits.
func newRunCgroup(cp *CgroupPlan) (*runCgroup, error) {
	name := fmt.Sprintf("sbx-%d-%d", os.Getpid(), runSeq.Add(1))
	rc := &runCgroup{dirs: map[string]string{}}
	if cp.Version == 2 {
		parent := cp.Parents["unified"]
		mnt := v2Mount()
		group := strings.TrimPrefix(parent, mnt)
		if group == parent || group == "" {
			return nil, fmt.Errorf("cgroup %s is not under the cgroup v2 mount %s", parent, mnt)
		}
		var pm *cgroup2.Manager
		var err error
		if os.Geteuid() == 0 && filepath.Base(parent) == "sbx" {
			// Root on v2: <root>/sbx; NewChild enables the controllers
			// in the root and in sbx for the run.
			pm, err = cgroup2.NewManager(mnt, group, controllersOnly(v2Resources(cp.Limits)))
		} else if err = prepareDelegated(parent, cp); err == nil {
			pm, err = cgroup2.Load(group, cgroup2.WithMountpoint(mnt))
		}
		if err != nil {
			return nil, fmt.Errorf("preparing cgroup %s: %w", parent, err)
		}
		rc.v2, err = pm.NewChild(name, v2Resources(cp.Limits))
		if err != nil {
			return nil, fmt.Errorf("creating cgroup %s/%s with %s: %w", parent, name, describeWrites(cp), err)
		}
		rc.dirs["unified"] = filepath.Join(parent, name)
		return rc, nil
	}
	// v1: only the hierarchies the plan uses, each under its parent (the
	// plugin's own cgroup in that hierarchy).
	rel := map[cgroup1.Name]string{}
	var subsystems []cgroup1.Subsystem
	for _, c := range limitControllers {
		parent, ok := cp.Parents[c]
		if !ok {
			continue
		}
		n := cgroup1.Name(c)
		rel[n] = filepath.Join("/", strings.TrimPrefix(parent, filepath.Join(cgroupRoot, c)), name)
		rc.dirs[c] = filepath.Join(parent, name)
		switch n {
		case cgroup1.Memory:
			subsystems = append(subsystems, cgroup1.NewMemory(cgroupRoot))
		case cgroup1.Pids:
			subsystems = append(subsystems, cgroup1.NewPids(cgroupRoot))
		case cgroup1.Cpu:
			subsystems = append(subsystems, cgroup1.NewCpu(cgroupRoot))
		}
	}
	path := func(n cgroup1.Name) (string, error) {
		if p, ok := rel[n]; ok {
			return p, nil
		}
		return "", cgroup1.ErrControllerNotActive
	}
	hierarchy := func() ([]cgroup1.Subsystem, error) { return subsystems, nil }
	cg, err := cgroup1.New(path, v1Resources(cp.Limits), cgroup1.WithHierarchy(hierarchy))
	if err != nil {
		// Remove whatever was created before the failure.
		if l, lerr := cgroup1.Load(path, cgroup1.WithHierarchy(hierarchy)); lerr == nil {
			_ = l.Delete()
		}
		return nil, fmt.Errorf("creating v1 cgroups %v with %s: %w", rc.dirs, describeWrites(cp), err)
	}
	rc.v1 = cg
	return rc, nil
}

// controllersOnly returns resources that enable r's controllers and
// write nothing (for the parent of run cgroups).
func controllersOnly(r *cgroup2.Resources) *cgroup2.Resources {
	out := &cgroup2.Resources{}
	if r.Memory != nil {
		out.Memory = &cgroup2.Memory{}
	}
	if r.Pids != nil {
		out.Pids = &cgroup2.Pids{}
	}
	if r.CPU != nil {
		out.CPU = &cgroup2.CPU{}
	}
	return out
}

// describeWrites lists the plan's writes for an error message.
func describeWrites(cp *CgroupPlan) string {
	var w []string
	for _, x := range cp.Writes {
		w = append(w, x.File+"="+x.Value)
	}
	return strings.Join(w, ", ")
}

// v2Mount is where the cgroup v2 hierarchy is mounted.
func v2Mount() string {
	if cgroups.Mode() == cgroups.Unified {
		return cgroupRoot
	}
	return filepath.Join(cgroupRoot, "unified")
}

// prepareDelegated readies a delegated v2 cgroup (the plugin's own) to
// hold run cgroups: when the controllers the plan needs are not yet
// enabled for its children, its processes move to a leaf "sbx-plugin"
// first (the no-internal-processes rule); cgroup2's NewChild then enables
// them.
func prepareDelegated(dir string, cp *CgroupPlan) error {
	enabled := readWords(filepath.Join(dir, "cgroup.subtree_control"))
	missing := false
	for _, c := range v2Resources(cp.Limits).EnabledControllers() {
		if !enabled[c] {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	mnt := v2Mount()
	own, err := cgroup2.Load(strings.TrimPrefix(dir, mnt), cgroup2.WithMountpoint(mnt))
	if err != nil {
		return err
	}
	leaf, err := own.NewChild("sbx-plugin", nil)
	if err != nil {
		return fmt.Errorf("creating %s/sbx-plugin: %w", dir, err)
	}
	pids, err := own.Procs(false)
	if err != nil {
		return fmt.Errorf("listing the processes of the delegated cgroup %s: %w", dir, err)
	}
	for _, pid := range pids {
		// A process that exited meanwhile is fine (ESRCH).
		if err := leaf.AddProc(pid); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("moving process %d of the delegated cgroup %s into %s/sbx-plugin: %w", pid, dir, dir, err)
		}
	}
	return nil
}

// add moves pid into every cgroup of the run.
func (rc *runCgroup) add(pid int) error {
	var err error
	if rc.v2 != nil {
		err = rc.v2.AddProc(uint64(pid))
	} else {
		err = rc.v1.AddProc(uint64(pid))
	}
	if err != nil {
		return fmt.Errorf("moving the command into its cgroup %v: %w", rc.dirs, err)
	}
	return nil
}

// kill kills every process of the run, until none is left (a process
// forking while being killed is caught by the next round). v2 uses
// cgroup.kill (cgroup2's Kill, which freezes and signals on kernels
// without it).
func (rc *runCgroup) kill() {
	if rc.v2 != nil {
		_ = rc.v2.Kill()
		return
	}
	for round := 0; round < 100; round++ {
		n := 0
		for _, s := range rc.v1.Subsystems() {
			procs, _ := rc.v1.Processes(s.Name(), true)
			for _, p := range procs {
				_ = syscall.Kill(p.Pid, syscall.SIGKILL)
				n++
			}
		}
		if n == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// exceeded says which limit the run hit: "memory" when the OOM killer
// killed a process of the run, "pids" when a fork was refused.
func (rc *runCgroup) exceeded() string {
	if rc.v2 != nil {
		dir := rc.dirs["unified"]
		if eventCount(filepath.Join(dir, "memory.events"), "oom_kill") > 0 {
			return "memory"
		}
		if eventCount(filepath.Join(dir, "pids.events"), "max") > 0 {
			return "pids"
		}
		return ""
	}
	if dir, ok := rc.dirs["memory"]; ok && eventCount(filepath.Join(dir, "memory.oom_control"), "oom_kill") > 0 {
		return "memory"
	}
	if dir, ok := rc.dirs["pids"]; ok && eventCount(filepath.Join(dir, "pids.events"), "max") > 0 {
		return "pids"
	}
	return ""
}

// eventCount reads "key N" from a cgroup events file.
func eventCount(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// remove kills what is left and removes the run's cgroups. The library
// refuses to remove a cgroup that still lists processes, so it retries
// while the killed ones exit.
func (rc *runCgroup) remove() {
	rc.kill()
	for i := 0; i < 100; i++ {
		var err error
		if rc.v2 != nil {
			err = rc.v2.Delete()
		} else {
			err = rc.v1.Delete()
		}
		if err == nil || errors.Is(err, os.ErrNotExist) || errors.Is(err, cgroup1.ErrCgroupDeleted) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
