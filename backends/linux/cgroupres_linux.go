//go:build linux

package linux

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v2Resources turns a run's limits into the resources cgroup2 writes.
func v2Resources(l CgroupLimits) *cgroup2.Resources {
	r := &cgroup2.Resources{}
	if l.MemoryBytes > 0 {
		max := l.MemoryBytes
		group := true // the OOM killer takes the whole run, not one process
		r.Memory = &cgroup2.Memory{Max: &max, OOMGroup: &group}
		if l.NoSwap {
			zero := int64(0)
			r.Memory.Swap = &zero
		}
	}
	if l.Pids > 0 {
		r.Pids = &cgroup2.Pids{Max: l.Pids}
	}
	if l.CPUQuotaUS > 0 {
		quota, period := l.CPUQuotaUS, l.CPUPeriodUS
		r.CPU = &cgroup2.CPU{Max: cgroup2.NewCPUMax(&quota, &period)}
	}
	return r
}

// v1Resources turns a run's limits into the resources the cgroup1 memory,
// pids and cpu subsystems write.
func v1Resources(l CgroupLimits) *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if l.MemoryBytes > 0 {
		limit := l.MemoryBytes
		r.Memory = &specs.LinuxMemory{Limit: &limit}
		if l.NoSwap {
			// memory+swap capped at the memory limit: no swap at all.
			memsw := l.MemoryBytes
			r.Memory.Swap = &memsw
		}
	}
	if l.Pids > 0 {
		pids := l.Pids
		r.Pids = &specs.LinuxPids{Limit: &pids}
	}
	if l.CPUQuotaUS > 0 {
		quota, period := l.CPUQuotaUS, l.CPUPeriodUS
		r.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	return r
}

// cgroupWrites lists the files and values the library writes for l.
//
// On v2 they come from cgroup2.Resources.Values(), the very list
// cgroup2.Manager writes. cgroup2.Value keeps its file name and value
// unexported, so they are read with reflect (reading, never setting, an
// unexported field is allowed); TestCgroupWrites_MatchWhatTheLibraryWrites
// checks the result against the files the library writes in a fake
// hierarchy. On v1 the cgroup1 subsystems have no such list: the writes
// are those of their Create methods (memory, then pids, then cpu), in their
// order, checked by the same test.
func cgroupWrites(version int, l CgroupLimits) []CgroupWrite {
	var out []CgroupWrite
	if version == 2 {
		for _, v := range v2Resources(l).Values() {
			file, val := valueOf(v)
			ctrl, _, _ := strings.Cut(file, ".")
			out = append(out, CgroupWrite{Controller: ctrl, File: file, Value: val})
		}
		return out
	}
	r := v1Resources(l)
	if m := r.Memory; m != nil {
		out = append(out, CgroupWrite{"memory", "memory.limit_in_bytes", strconv.FormatInt(*m.Limit, 10)})
		if m.Swap != nil {
			out = append(out, CgroupWrite{"memory", "memory.memsw.limit_in_bytes", strconv.FormatInt(*m.Swap, 10)})
		}
	}
	if r.Pids != nil {
		out = append(out, CgroupWrite{"pids", "pids.max", strconv.FormatInt(*r.Pids.Limit, 10)})
	}
	if c := r.CPU; c != nil {
		out = append(out, CgroupWrite{"cpu", "cpu.cfs_period_us", strconv.FormatUint(*c.Period, 10)})
		out = append(out, CgroupWrite{"cpu", "cpu.cfs_quota_us", strconv.FormatInt(*c.Quota, 10)})
	}
	return out
}

// valueOf returns the file name and the text written for a cgroup2.Value,
// formatted as cgroup2 formats it.
func valueOf(v cgroup2.Value) (string, string) {
	rv := reflect.ValueOf(v)
	file := rv.FieldByName("filename").String()
	val := rv.FieldByName("value")
	if val.Kind() == reflect.Interface {
		val = val.Elem()
	}
	switch val.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return file, strconv.FormatInt(val.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return file, strconv.FormatUint(val.Uint(), 10)
	case reflect.String:
		return file, val.String()
	case reflect.Slice:
		return file, string(val.Bytes())
	}
	return file, fmt.Sprintf("<%s>", val.Kind())
}
