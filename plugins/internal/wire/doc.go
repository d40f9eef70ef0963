// Package wire converts between core types and the backendv1 protocol
// messages, maps errors to gRPC statuses and back (keeping their core class
// and typed details), and holds the go-plugin glue shared by the host and
// the SDK.
package wire
