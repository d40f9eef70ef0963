package plugins

import (
	plugin "github.com/hashicorp/go-plugin"
)

// ProtocolVersion is the go-plugin handshake version: it changes only when
// the transport breaks (history: 1 = gRPC backend.proto v1). A host and a
// plugin with different protocol versions refuse each other at start.
const ProtocolVersion = 1

// APIVersion is the backend API version (MAJOR.MINOR) exchanged in Hello.
// MINOR grows with additive changes to backend.proto; a host refuses a
// plugin with another MAJOR. History: 1.0 first version; 1.1 adds
// RunStart.host_prints_downgrades; 1.2 adds planning inside Run (feature
// FeatureRunPlan) and RunStart.no_started_pid; 1.3 adds RunStart.umask.
const APIVersion = "1.3"

// BinaryPrefix starts the file name of every backend plugin:
// sbx-backend-NAME (sbx-backend-NAME.exe on Windows).
const BinaryPrefix = "sbx-backend-"

// PluginKey is the name under which a plugin binary dispenses its backends.
const PluginKey = "backend"

// Features a plugin can announce in Hello.
const (
	// FeatureStdioFDs: the plugin accepts the host's stdio descriptors over
	// the SBX_FD_CHANNEL socket (Unix only).
	FeatureStdioFDs = "stdio-fds"
	// FeatureSetup: some backend of the plugin implements core.Setuper.
	FeatureSetup = "setup"
	// FeatureRunPlan: the plugin plans a run inside the Run stream when
	// asked (RunStart.plan_in_run), so the host needs no Plan call before
	// it, and skips sending the plan when its report is one the host
	// already checked (API 1.2).
	FeatureRunPlan = "run-plan"
	// FeatureStdioFDConn: an agent's descriptor socket reads any number of
	// batches per connection, so a host may keep one connection to it for
	// all its runs instead of connecting (and checking the peer) per run
	// (API 1.3).
	FeatureStdioFDConn = "stdio-fds-conn"
)

// EnvFDChannel names the environment variable that tells a plugin which
// file descriptor is its end of the descriptor-passing socket.
const EnvFDChannel = "SBX_FD_CHANNEL"

// Environment variables a host sets when it starts a plugin as a
// long-lived agent (host.Options.KeepAlive; Linux only).
const (
	// EnvAgentIdle: the plugin is an agent and exits after this idle time.
	EnvAgentIdle = "SBX_AGENT_IDLE"
	// EnvAgentFDSocket: where the agent listens for descriptor batches.
	EnvAgentFDSocket = "SBX_AGENT_FD_SOCKET"
)

// Handshake is the go-plugin handshake shared by sbx and its plugins. The
// cookie is not a security measure: it only stops people from running a
// plugin binary by hand by mistake.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SBX_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "4f1c7c4e0f4a5c3d9d1b6a2e8c7f0b13-sbx-backend",
}
