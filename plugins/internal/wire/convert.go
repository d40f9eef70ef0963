package wire

import (
	"time"

	"github.com/sbxdev/sbx/core"
	pb "github.com/sbxdev/sbx/plugins/proto/backendv1"
)

// PolicyToProto converts a policy to its wire form.
func PolicyToProto(p core.Policy) *pb.Policy {
	return &pb.Policy{
		Workspace:     p.Workspace,
		WritableRoots: p.WritableRoots,
		ReadOnly:      p.ReadOnly,
		Protected:     p.Protected,
		ReadMode:      string(p.Read.Mode),
		ReadPaths:     p.Read.Paths,
		WritableTmp:   p.WritableTmp,
		NetworkMode:   string(p.Network.Mode),
		AllowHosts:    p.Network.AllowHosts,
		EnvInherit:    p.Env.Inherit,
		EnvSet:        p.Env.Set,
		EnvUnset:      p.Env.Unset,
		TimeoutMs:     p.Limits.Timeout.Milliseconds(),
		MemoryBytes:   p.Limits.MemoryBytes,
		Pids:          p.Limits.Pids,
		Cpu:           p.Limits.CPU,
	}
}

// PolicyFromProto converts a wire policy back. A nil message gives the zero
// policy, which Validate rejects.
func PolicyFromProto(m *pb.Policy) core.Policy {
	if m == nil {
		return core.Policy{}
	}
	return core.Policy{
		Workspace:     m.Workspace,
		WritableRoots: m.WritableRoots,
		ReadOnly:      m.ReadOnly,
		Protected:     m.Protected,
		Read:          core.ReadPolicy{Mode: core.ReadMode(m.ReadMode), Paths: m.ReadPaths},
		WritableTmp:   m.WritableTmp,
		Network:       core.NetworkPolicy{Mode: core.NetworkMode(m.NetworkMode), AllowHosts: m.AllowHosts},
		Env:           core.EnvPolicy{Inherit: m.EnvInherit, Set: m.EnvSet, Unset: m.EnvUnset},
		Limits: core.Limits{
			Timeout:     time.Duration(m.TimeoutMs) * time.Millisecond,
			MemoryBytes: m.MemoryBytes,
			Pids:        m.Pids,
			CPU:         m.Cpu,
		},
	}
}

// InfoToProto converts backend info to its wire form.
func InfoToProto(i core.Info) *pb.Info {
	c := i.Capabilities
	return &pb.Info{
		Name:        i.Name,
		Description: i.Description,
		Os:          i.OS,
		Available:   i.Available,
		Unavailable: i.Unavailable,
		NeedsSetup:  i.NeedsSetup,
		Capabilities: &pb.Capabilities{
			Write: string(c.Write), Protected: string(c.Protected), Read: string(c.Read),
			Network: string(c.Network), Limits: string(c.Limits), ProcessTree: string(c.ProcessTree), Tty: c.TTY,
		},
		Facts: i.Facts,
	}
}

// InfoFromProto converts wire backend info back.
func InfoFromProto(m *pb.Info) core.Info {
	if m == nil {
		return core.Info{}
	}
	i := core.Info{
		Name:        m.Name,
		Description: m.Description,
		OS:          m.Os,
		Available:   m.Available,
		Unavailable: m.Unavailable,
		NeedsSetup:  m.NeedsSetup,
		Facts:       m.Facts,
	}
	if c := m.Capabilities; c != nil {
		i.Capabilities = core.Capabilities{
			Write: core.Strength(c.Write), Protected: core.Strength(c.Protected), Read: core.Strength(c.Read),
			Network: core.Strength(c.Network), Limits: core.Strength(c.Limits),
			ProcessTree: core.Strength(c.ProcessTree), TTY: c.Tty,
		}
	}
	return i
}

// ElementsToProto converts report elements to their wire form.
func ElementsToProto(es []core.Element) []*pb.Element {
	out := make([]*pb.Element, len(es))
	for i, e := range es {
		out[i] = &pb.Element{
			Boundary: string(e.Boundary), Subject: e.Subject, Requested: e.Requested,
			Strength: string(e.Strength), Mechanism: e.Mechanism, Note: e.Note,
		}
	}
	return out
}

// ElementsFromProto converts wire elements back. An element with an
// unknown strength is read as absent: the host never believes more than it
// understands.
func ElementsFromProto(ms []*pb.Element) []core.Element {
	out := make([]core.Element, 0, len(ms))
	for _, m := range ms {
		if m == nil {
			continue
		}
		s := core.Strength(m.Strength)
		if s != core.Enforced && s != core.Advisory {
			s = core.Absent
		}
		out = append(out, core.Element{
			Boundary: core.Boundary(m.Boundary), Subject: m.Subject, Requested: m.Requested,
			Strength: s, Mechanism: m.Mechanism, Note: m.Note,
		})
	}
	return out
}

// ReportToProto converts a report to its wire form.
func ReportToProto(r core.Report) *pb.Report {
	return &pb.Report{Backend: r.Backend, Elements: ElementsToProto(r.Elements)}
}

// ReportFromProto converts a wire report back.
func ReportFromProto(m *pb.Report) core.Report {
	if m == nil {
		return core.Report{}
	}
	return core.Report{Backend: m.Backend, Elements: ElementsFromProto(m.Elements)}
}

// PlanToProto converts a plan to its wire form.
func PlanToProto(p *core.Plan) *pb.Plan {
	if p == nil {
		return nil
	}
	steps := make([]*pb.Step, len(p.Steps))
	for i, s := range p.Steps {
		steps[i] = &pb.Step{Layer: s.Layer, Action: s.Action, Target: s.Target, Value: s.Value}
	}
	return &pb.Plan{Backend: p.Backend, Report: ReportToProto(p.Report), Steps: steps, Detail: p.Detail}
}

// PlanFromProto converts a wire plan back.
func PlanFromProto(m *pb.Plan) *core.Plan {
	if m == nil {
		return nil
	}
	p := &core.Plan{Backend: m.Backend, Report: ReportFromProto(m.Report), Detail: m.Detail}
	for _, s := range m.Steps {
		if s != nil {
			p.Steps = append(p.Steps, core.Step{Layer: s.Layer, Action: s.Action, Target: s.Target, Value: s.Value})
		}
	}
	return p
}

// ResultToProto converts a run result to its wire form.
func ResultToProto(r *core.RunResult) *pb.RunResult {
	return &pb.RunResult{
		ExitCode:      int32(r.ExitCode),
		Signal:        int32(r.Signal),
		TimedOut:      r.TimedOut,
		LimitExceeded: r.LimitExceeded,
		DurationNs:    int64(r.Duration),
		Report:        ReportToProto(r.Report),
	}
}

// ResultFromProto converts a wire run result back.
func ResultFromProto(m *pb.RunResult) *core.RunResult {
	return &core.RunResult{
		ExitCode:      int(m.ExitCode),
		Signal:        core.Signal(m.Signal),
		TimedOut:      m.TimedOut,
		LimitExceeded: m.LimitExceeded,
		Duration:      time.Duration(m.DurationNs),
		Report:        ReportFromProto(m.Report),
	}
}

// SetupStatusToProto converts a setup status to its wire form.
func SetupStatusToProto(s core.SetupStatus) *pb.SetupStatusResponse {
	m := &pb.SetupStatusResponse{Done: s.Done, Version: int32(s.Version), Want: int32(s.Want)}
	for _, it := range s.Items {
		m.Items = append(m.Items, &pb.SetupItem{Name: it.Name, Present: it.Present, Detail: it.Detail})
	}
	return m
}

// SetupStatusFromProto converts a wire setup status back.
func SetupStatusFromProto(m *pb.SetupStatusResponse) core.SetupStatus {
	s := core.SetupStatus{Done: m.Done, Version: int(m.Version), Want: int(m.Want)}
	for _, it := range m.Items {
		if it != nil {
			s.Items = append(s.Items, core.SetupItem{Name: it.Name, Present: it.Present, Detail: it.Detail})
		}
	}
	return s
}
