package core

import (
	"fmt"
	"strconv"
)

// Subjects used by [Requested] for elements that are not paths.
const (
	SubjectElsewhere   = "everything else"
	SubjectNetwork     = "network"
	SubjectReads       = "reads"
	SubjectTimeout     = "timeout"
	SubjectMemory      = "memory"
	SubjectPids        = "pids"
	SubjectCPU         = "cpu"
	SubjectProcessTree = "process tree"
)

// Requested words used by [Requested].
const (
	ReqWritable      = "writable"
	ReqReadOnly      = "read-only"
	ReqProtected     = "read-only (protected)"
	ReqReadAll       = "everything readable"
	ReqReadListed    = "only listed paths readable"
	ReqNetworkDeny   = "deny"
	ReqNetworkAllow  = "allow"
	ReqKilledWithRun = "killed with the run"
)

// Requested lists the elements p asks for, with Strength left empty for the
// backend to fill in: one per writable root and temporary directory, one per
// protected name, "everything else read-only", reads, network, one per
// limit that is set, and the process tree. tmpDirs are the platform's
// temporary directories, listed when p.WritableTmp is set.
//
// Backends build their report by assessing each element; using the same
// list everywhere keeps reports of different backends comparable line by
// line (that is what `sbx compare` shows).
func Requested(p Policy, tmpDirs []string) []Element {
	var out []Element
	for _, r := range p.WritePaths() {
		out = append(out, Element{Boundary: BoundaryWrite, Subject: r, Requested: ReqWritable})
	}
	if p.WritableTmp {
		for _, t := range tmpDirs {
			out = append(out, Element{Boundary: BoundaryWrite, Subject: t, Requested: ReqWritable})
		}
	}
	if len(p.WritePaths()) > 0 {
		for _, n := range p.Protected {
			out = append(out, Element{Boundary: BoundaryWrite, Subject: n, Requested: ReqProtected})
		}
	}
	out = append(out, Element{Boundary: BoundaryWrite, Subject: SubjectElsewhere, Requested: ReqReadOnly})
	if p.Read.Mode == ReadRestricted {
		out = append(out, Element{Boundary: BoundaryRead, Subject: SubjectReads, Requested: ReqReadListed})
	} else {
		out = append(out, Element{Boundary: BoundaryRead, Subject: SubjectReads, Requested: ReqReadAll})
	}
	if p.Network.Mode == NetworkAllow {
		out = append(out, Element{Boundary: BoundaryNetwork, Subject: SubjectNetwork, Requested: ReqNetworkAllow})
	} else {
		out = append(out, Element{Boundary: BoundaryNetwork, Subject: SubjectNetwork, Requested: ReqNetworkDeny})
	}
	l := p.Limits
	if l.Timeout > 0 {
		out = append(out, Element{Boundary: BoundaryLimits, Subject: SubjectTimeout, Requested: l.Timeout.String()})
	}
	if l.MemoryBytes > 0 {
		out = append(out, Element{Boundary: BoundaryLimits, Subject: SubjectMemory, Requested: FormatBytes(l.MemoryBytes)})
	}
	if l.Pids > 0 {
		out = append(out, Element{Boundary: BoundaryLimits, Subject: SubjectPids, Requested: strconv.FormatInt(l.Pids, 10)})
	}
	if l.CPU > 0 {
		out = append(out, Element{Boundary: BoundaryLimits, Subject: SubjectCPU, Requested: strconv.FormatFloat(l.CPU, 'g', -1, 64) + " cores"})
	}
	out = append(out, Element{Boundary: BoundaryProcess, Subject: SubjectProcessTree, Requested: ReqKilledWithRun})
	return out
}

// Unrestricted reports whether e asks for no restriction at all (reads of
// everything, network allowed): such an element is met by any backend, so
// it is reported as enforced.
func (e Element) Unrestricted() bool {
	return (e.Boundary == BoundaryRead && e.Requested == ReqReadAll) ||
		(e.Boundary == BoundaryNetwork && e.Requested == ReqNetworkAllow) ||
		(e.Boundary == BoundaryWrite && e.Requested == ReqWritable)
}

// FormatBytes prints n bytes the way the policy accepts them ("512MiB").
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for i < len(units)-1 && n >= 1024 && n%1024 == 0 {
		n /= 1024
		i++
	}
	return fmt.Sprintf("%d%s", n, units[i])
}
