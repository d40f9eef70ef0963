//go:build !linux

package linux

// cgroupWrites lists nothing outside Linux: there are no cgroups, and the
// facts there never offer one.
func cgroupWrites(version int, l CgroupLimits) []CgroupWrite { return nil }
