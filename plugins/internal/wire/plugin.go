package wire

import (
	"context"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sbxdev/sbx/plugins"
	pb "github.com/sbxdev/sbx/plugins/proto/backendv1"
)

// GRPCPlugin is the go-plugin glue for the backend service: on the plugin
// side it registers Impl, on the host side it dispenses a
// pb.BackendClient.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the implementation served by a plugin (nil on the host).
	Impl pb.BackendServer
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the backend service.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterBackendServer(s, p.Impl)
	return nil
}

// Client is what the host side dispenses: the backend service client and
// the connection under it.
type Client struct {
	pb.BackendClient
	// Conn is the gRPC connection; closing it leaves the plugin running.
	Conn *grpc.ClientConn
}

// GRPCClient returns a *Client of the backend service.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return &Client{BackendClient: pb.NewBackendClient(c), Conn: c}, nil
}

// PluginSets returns the versioned plugin sets for go-plugin's
// VersionedPlugins, with srv served under plugins.PluginKey.
func PluginSets(srv pb.BackendServer) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		plugins.ProtocolVersion: {plugins.PluginKey: &GRPCPlugin{Impl: srv}},
	}
}
