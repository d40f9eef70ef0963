// Command badproto is a test plugin that speaks another go-plugin protocol
// version than sbx, to prove the host refuses it with a clear error.
package main

import (
	plugin "github.com/hashicorp/go-plugin"

	"github.com/sbxdev/sbx/plugins"
	"github.com/sbxdev/sbx/plugins/internal/wire"
)

func main() {
	hs := plugins.Handshake
	hs.ProtocolVersion = 99
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		VersionedPlugins: map[int]plugin.PluginSet{
			99: wire.PluginSets(nil)[plugins.ProtocolVersion],
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
