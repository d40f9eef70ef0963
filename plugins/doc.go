// Package plugins holds what the sbx host and its backend plugins agree on:
// the go-plugin handshake ([Handshake], [ProtocolVersion]), the API version
// exchanged on top of it ([APIVersion]) and the plugin naming rule
// ([BinaryPrefix]).
//
// The pieces live in sub-packages:
//
//   - [github.com/sbxdev/sbx/plugins/sdk]: serve backends from a plugin
//     binary (for built-in and third-party backends alike).
//   - [github.com/sbxdev/sbx/plugins/sdk/proc]: run a command on the local
//     machine with process I/O done right (the runner backends share).
//   - [github.com/sbxdev/sbx/plugins/host]: find, start and talk to plugins;
//     the Go API that the sbx CLI and harnesses embedding sbx use.
//   - [github.com/sbxdev/sbx/plugins/proto/backendv1]: the wire protocol.
//
// Only this tree imports go-plugin and gRPC. docs/architecture.md explains
// the design, in particular how standard streams, terminals, signals and
// process lifetime cross the plugin boundary.
package plugins
