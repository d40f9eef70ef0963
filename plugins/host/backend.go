package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"
	"weak"

	"google.golang.org/protobuf/proto"

	"github.com/sbxdev/sbx/core"
	"github.com/sbxdev/sbx/plugins"
	"github.com/sbxdev/sbx/plugins/internal/wire"
	pb "github.com/sbxdev/sbx/plugins/proto/backendv1"
)

// Backend is a backend served by a plugin. It implements core.Backend and
// core.Setuper; Setup and SetupStatus fail with an error matching
// core.ErrUnsupported for a backend without a one-time setup.
type Backend struct {
	name string
	p    *pluginProc
	h    *Host
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Setuper = (*Backend)(nil)
)

// Name is the backend's name.
func (b *Backend) Name() string { return b.name }

// Plugin is the path of the plugin binary serving the backend.
func (b *Backend) Plugin() string { return b.p.path }

// err turns an RPC error into a core-classed error, noticing a dead plugin.
func (b *Backend) err(err error) error {
	if err == nil {
		return nil
	}
	e := wire.FromStatus(err)
	if b.p.exited() && !errors.Is(e, core.ErrBackendExited) {
		e = fmt.Errorf("backend plugin %s exited: %v: %w", b.p.path, e, core.ErrBackendExited)
	}
	if errors.Is(e, core.ErrBackendExited) {
		b.p.waitExited(2 * time.Second)
		killOrphans()
	}
	return e
}

// Info describes the backend.
func (b *Backend) Info(ctx context.Context) (core.Info, error) {
	r, err := b.p.rpc.Info(ctx, &pb.InfoRequest{Backend: b.name})
	if err != nil {
		return core.Info{Name: b.name}, b.err(err)
	}
	info := wire.InfoFromProto(r.Info)
	if info.Name != b.name {
		return core.Info{Name: b.name}, fmt.Errorf("plugin %s answered for backend %q when asked about %q: %w", b.p.path, info.Name, b.name, core.ErrProtocol)
	}
	return info, nil
}

// Plan says what the backend would do for p.
func (b *Backend) Plan(ctx context.Context, p core.Policy) (*core.Plan, error) {
	r, err := b.p.rpc.Plan(ctx, &pb.PlanRequest{Backend: b.name, Policy: wire.PolicyToProto(p)})
	if err != nil {
		return nil, b.err(err)
	}
	plan := wire.PlanFromProto(r.Plan)
	if plan == nil {
		return nil, fmt.Errorf("plugin %s sent an empty plan: %w", b.p.path, core.ErrProtocol)
	}
	if err := checkReport(p, plan.Report); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", b.p.path, err)
	}
	plan.Report.Backend = b.name
	return plan, nil
}

// checkReport fails closed on a report that does not account for every
// element the policy asks for: a plugin may not drop the ones it cannot
// hold.
func checkReport(p core.Policy, r core.Report) error {
	have := map[string]bool{}
	for _, e := range r.Elements {
		have[string(e.Boundary)+"\x00"+e.Subject] = true
	}
	for _, want := range core.Requested(p, nil) {
		if !have[string(want.Boundary)+"\x00"+want.Subject] {
			return fmt.Errorf("the backend's report leaves out %s %s: refusing to trust it: %w", want.Boundary, want.Subject, core.ErrProtocol)
		}
	}
	return nil
}

// SetupStatus says what part of the backend's one-time setup is in place.
func (b *Backend) SetupStatus(ctx context.Context) (core.SetupStatus, error) {
	r, err := b.p.rpc.SetupStatus(ctx, &pb.SetupStatusRequest{Backend: b.name})
	if err != nil {
		return core.SetupStatus{}, b.err(err)
	}
	return wire.SetupStatusFromProto(r), nil
}

// Setup performs or undoes the backend's one-time setup, writing progress
// lines to progress.
func (b *Backend) Setup(ctx context.Context, req core.SetupRequest, progress io.Writer) error {
	m := &pb.SetupRequest{Backend: b.name, Undo: req.Undo}
	if req.Policy != nil {
		m.Policy, m.HasPolicy = wire.PolicyToProto(*req.Policy), true
	}
	stream, err := b.p.rpc.Setup(ctx, m)
	if err != nil {
		return b.err(err)
	}
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return b.err(err)
		}
		if progress != nil {
			fmt.Fprintln(progress, msg.Line)
		}
	}
}

// supportsFDs reports whether runs may pass descriptors to this plugin.
func (b *Backend) supportsFDs() bool {
	return (b.p.fdSock != nil || b.p.fdAddr != "") && b.p.hasFeature(plugins.FeatureStdioFDs) && b.h.opts.Stdio != StdioStream
}

// planCache remembers, per connection to a plugin, the plans this host has
// checked, by backend and policy, with the digest the plugin gave their
// reports: a later run of the same policy sends the digest, and a plugin
// whose fresh plan has that report starts the command without sending the
// plan and waiting for the host's verdict (API 1.2, feature run-plan). A
// plan is never used without the plugin's say-so: only its digest travels,
// and the plugin compares it with the plan it makes for the run.
type planCache struct {
	mu sync.Mutex
	m  map[string]checkedPlan
}

// checkedPlan is a plan the host checked, and its report's digest.
type checkedPlan struct {
	plan   *core.Plan
	digest []byte
}

// maxCachedPlans bounds a connection's cache: a long-lived host running
// commands in many workspaces keeps the most recent few.
const maxCachedPlans = 32

func (c *planCache) get(key string) (checkedPlan, bool) {
	if c == nil {
		return checkedPlan{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[key]
	return p, ok
}

func (c *planCache) put(key string, plan *core.Plan, digest []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]checkedPlan{}
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= maxCachedPlans {
		for k := range c.m { // any one: the map's order is random
			delete(c.m, k)
			break
		}
	}
	c.m[key] = checkedPlan{plan: plan, digest: digest}
}

// planCaches holds the plan cache of each plugin connection, without
// keeping the connection alive: an entry goes when its pluginProc does.
var planCaches sync.Map // weak.Pointer[pluginProc] -> *planCache

// cacheOf returns the plan cache of the connection p.
func cacheOf(p *pluginProc) *planCache {
	key := weak.Make(p)
	if c, ok := planCaches.Load(key); ok {
		return c.(*planCache)
	}
	c, loaded := planCaches.LoadOrStore(key, &planCache{})
	if !loaded {
		runtime.AddCleanup(p, func(k weak.Pointer[pluginProc]) { planCaches.Delete(k) }, key)
	}
	return c.(*planCache)
}

// planCacheKey names a backend and a policy: the policy's deterministic
// wire encoding. ok is false when the policy cannot be encoded (nothing is
// cached then).
func planCacheKey(backend string, policy *pb.Policy) (key string, ok bool) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(policy)
	if err != nil {
		return "", false
	}
	return backend + "\x00" + string(b), true
}
