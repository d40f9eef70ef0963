//go:build linux

package linux

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const cgroupRoot = "/sys/fs/cgroup"

// limitControllers are the controllers limits use.
var limitControllers = []string{"memory", "pids", "cpu"}

// probeCgroup finds where run cgroups can be created.
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
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		return CgroupFacts{Mode: "none", Note: "no cgroup file system at " + cgroupRoot}
	}
	own := ownCgroups()
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		f := CgroupFacts{Mode: "v2"}
		probeV2(&f, cgroupRoot, own[""], uid)
		return f
	}
	f := CgroupFacts{Mode: "v1"}
	unified := filepath.Join(cgroupRoot, "unified")
	if unix.Statfs(unified, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		f.Mode = "hybrid"
	}
	if uid != 0 {
		if f.Mode == "hybrid" {
			probeV2(&f, unified, own[""], uid)
			if f.Version == 0 {
				f.Note = "hybrid host: the v1 controllers need root, and the v2 hierarchy has no delegated cgroup with controllers for this user (" + f.Note + ")"
			}
			return f
		}
		f.Note = "cgroup v1 limits need root"
		return f
	}
	f.Parents = map[string]string{}
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
	}
	if len(f.Controllers) > 0 {
		f.Version = 1
	} else {
		f.Note = "no writable memory, pids or cpu v1 hierarchy"
	}
	return f
}

// probeV2 fills f for a cgroup v2 hierarchy mounted at mnt.
func probeV2(f *CgroupFacts, mnt, own string, uid int) {
	var parent string
	if uid == 0 {
		parent = filepath.Join(mnt, "sbx")
		enabled := readWords(filepath.Join(mnt, "cgroup.controllers"))
		for _, c := range limitControllers {
			if enabled[c] {
				f.Controllers = append(f.Controllers, c)
			}
		}
		if len(f.Controllers) == 0 {
			f.Note = "the v2 hierarchy at " + mnt + " has no memory, pids or cpu controller"
			return
		}
	} else {
		// A delegated cgroup: ours, writable, with controllers available
		// (cgroup.controllers). Runs become its children; the plugin moves
		// the processes of its own cgroup into a leaf first (the
		// no-internal-processes rule), see prepareDelegated.
		parent = filepath.Join(mnt, own)
		if unix.Access(filepath.Join(parent, "cgroup.procs"), unix.W_OK) != nil ||
			unix.Access(filepath.Join(parent, "cgroup.subtree_control"), unix.W_OK) != nil {
			f.Note = "the plugin's cgroup " + parent + " is not delegated to this user (start sbx under systemd-run --user --scope -p Delegate=yes)"
			return
		}
		avail := readWords(filepath.Join(parent, "cgroup.controllers"))
		for _, c := range limitControllers {
			if avail[c] {
				f.Controllers = append(f.Controllers, c)
			}
		}
		if len(f.Controllers) == 0 {
			f.Note = "the delegated cgroup " + parent + " has no memory, pids or cpu controller"
			return
		}
	}
	f.Version = 2
	f.Parents = map[string]string{"unified": parent}
}

// ownCgroups maps each v1 controller (and "" for v2) to this process's
// cgroup path, from /proc/self/cgroup.
func ownCgroups() map[string]string {
	out := map[string]string{}
	fh, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return out
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
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

// runCgroup is the cgroup (one directory per hierarchy) of one run.
type runCgroup struct {
	plan *CgroupPlan
	// dirs maps a controller (or "unified") to the run's cgroup directory.
	dirs map[string]string
}

// newRunCgroup creates the run's cgroups and writes the plan's values.
func newRunCgroup(cp *CgroupPlan) (*runCgroup, error) {
	name := fmt.Sprintf("sbx-%d-%d", os.Getpid(), runSeq.Add(1))
	rc := &runCgroup{plan: cp, dirs: map[string]string{}}
	for key, parent := range cp.Parents {
		if cp.Version == 2 && key == "unified" {
			var err error
			if os.Geteuid() == 0 && filepath.Base(parent) == "sbx" {
				// Root on v2: <root>/sbx with the controllers delegated.
				err = enableV2(filepath.Dir(parent), parent)
			} else {
				err = prepareDelegated(parent, cp)
			}
			if err != nil {
				rc.remove()
				return nil, err
			}
		}
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			rc.remove()
			return nil, fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		rc.dirs[key] = dir
	}
	for _, w := range cp.Writes {
		key := w.Controller
		if cp.Version == 2 {
			key = "unified"
		}
		path := filepath.Join(rc.dirs[key], w.File)
		if err := os.WriteFile(path, []byte(w.Value), 0); err != nil {
			if w.Optional && errors.Is(err, os.ErrNotExist) {
				continue
			}
			rc.remove()
			return nil, fmt.Errorf("setting %s = %s: %w", path, w.Value, err)
		}
	}
	return rc, nil
}

// enableV2 creates dir under parent (the root cgroup) and enables the limit
// controllers for dir and its children.
func enableV2(root, dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating cgroup %s: %w", dir, err)
	}
	for _, d := range []string{root, dir} {
		for _, c := range limitControllers {
			// Best per controller: one missing controller must not hide the
			// others; the plan only writes files of available ones.
			_ = os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte("+"+c), 0)
		}
	}
	return nil
}

// prepareDelegated readies a delegated v2 cgroup (the plugin's own) to
// hold run cgroups: its processes move to a leaf "sbx-plugin", then the
// controllers the plan writes are enabled for its children.
func prepareDelegated(dir string, cp *CgroupPlan) error {
	need := map[string]bool{}
	for _, w := range cp.Writes {
		need[w.Controller] = true
	}
	enabled := readWords(filepath.Join(dir, "cgroup.subtree_control"))
	missing := false
	for c := range need {
		if !enabled[c] {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	leaf := filepath.Join(dir, "sbx-plugin")
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating %s: %w", leaf, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	for _, pid := range strings.Fields(string(b)) {
		// A process that exited meanwhile is fine (ESRCH).
		if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(pid), 0); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("moving process %s of the delegated cgroup %s into %s: %w", pid, dir, leaf, err)
		}
	}
	for c := range need {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
			return fmt.Errorf("enabling the %s controller in the delegated cgroup %s: %w", c, dir, err)
		}
	}
	return nil
}

// add moves pid into every cgroup of the run.
func (rc *runCgroup) add(pid int) error {
	for _, dir := range rc.dirs {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("moving the command into cgroup %s: %w", dir, err)
		}
	}
	return nil
}

// procs lists the pids in the run's cgroups.
func (rc *runCgroup) procs() []int {
	seen := map[int]bool{}
	var out []int
	for _, dir := range rc.dirs {
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
	}
	return out
}

// kill kills every process of the run, until none is left (a process
// forking while being killed is caught by the next round).
func (rc *runCgroup) kill() {
	if dir, ok := rc.dirs["unified"]; ok {
		if os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0) == nil {
			return
		}
	}
	for round := 0; round < 100; round++ {
		pids := rc.procs()
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(time.Millisecond)
	}
}

// exceeded says which limit the run hit: "memory" when the OOM killer
// killed a process of the run, "pids" when a fork was refused.
func (rc *runCgroup) exceeded() string {
	if rc.plan.Version == 2 {
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

// remove kills what is left and removes the run's cgroups.
func (rc *runCgroup) remove() {
	rc.kill()
	for _, dir := range rc.dirs {
		for i := 0; i < 50; i++ {
			if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}
