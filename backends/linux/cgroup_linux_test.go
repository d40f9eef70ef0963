//go:build linux

package linux

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
)

// readWrites reads back every file the library wrote under dir, except
// the cgroup.* interface files, as controller:file=value.
func readWrites(t *testing.T, dir, controller string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, de := range des {
		if de.IsDir() || filepath.Ext(de.Name()) == "" || de.Name()[:7] == "cgroup." {
			continue
		}
		p := filepath.Join(dir, de.Name())
		must(t, os.Chmod(p, 0o600)) // the library creates them with mode 0
		b, err := os.ReadFile(p)
		must(t, err)
		out = append(out, controller+":"+de.Name()+"="+string(b))
	}
	return out
}

func planned(ws []CgroupWrite, onlyCtrl string) []string {
	var out []string
	for _, w := range ws {
		if onlyCtrl == "" || w.Controller == onlyCtrl {
			out = append(out, w.Controller+":"+w.File+"="+w.Value)
		}
	}
	return out
}

// TestCgroupWrites_MatchWhatTheLibraryWrites applies limits with
// containerd/cgroups in a fake hierarchy (plain directories) and checks the
// plan's list of writes is exactly what the library wrote, for v2 and v1.
func TestCgroupWrites_MatchWhatTheLibraryWrites(t *testing.T) {
	for _, l := range []CgroupLimits{
		{MemoryBytes: 64 << 20, NoSwap: true, Pids: 32, CPUQuotaUS: 50000, CPUPeriodUS: 100000},
		{MemoryBytes: 1 << 30},
		{Pids: 7},
	} {
		// v2: the parent as newRunCgroup makes it as root, then the run.
		mnt := t.TempDir()
		must(t, os.WriteFile(filepath.Join(mnt, "cgroup.subtree_control"), nil, 0o644))
		must(t, os.MkdirAll(filepath.Join(mnt, "sbx"), 0o755))
		must(t, os.WriteFile(filepath.Join(mnt, "sbx", "cgroup.subtree_control"), nil, 0o644))
		pm, err := cgroup2.NewManager(mnt, "/sbx", controllersOnly(v2Resources(l)))
		must(t, err)
		_, err = pm.NewChild("run", v2Resources(l))
		must(t, err)
		got := readWrites(t, filepath.Join(mnt, "sbx", "run"), "")
		want := planned(cgroupWrites(2, l), "")
		for i := range want {
			want[i] = want[i][len(cgroupWrites(2, l)[i].Controller):] // the file name says the controller
		}
		sort.Strings(got)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("v2 %+v: library wrote %q, plan says %q", l, got, want)
		}
		if len(readWrites(t, filepath.Join(mnt, "sbx"), "")) != 0 {
			t.Errorf("v2: values written in the parent")
		}

		// v1: the memory, pids and cpu subsystems only.
		root := t.TempDir()
		subs := []cgroup1.Subsystem{cgroup1.NewMemory(root), cgroup1.NewPids(root), cgroup1.NewCpu(root)}
		_, err = cgroup1.New(cgroup1.StaticPath("/sbx-run"), v1Resources(l),
			cgroup1.WithHierarchy(func() ([]cgroup1.Subsystem, error) { return subs, nil }))
		must(t, err)
		for _, c := range limitControllers {
			got := readWrites(t, filepath.Join(root, c, "sbx-run"), c)
			want := planned(cgroupWrites(1, l), c)
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("v1 %s %+v: library wrote %q, plan says %q", c, l, got, want)
			}
		}
		des, _ := os.ReadDir(root)
		if len(des) != 3 {
			t.Errorf("v1: hierarchies touched: %v", des)
		}
	}
}
