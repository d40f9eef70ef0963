// Package agentenv says what a command inherits from a long-lived agent
// that starts it, and so what callers must share to be served by the same
// agent: the environment variables a plugin may depend on (Var) and the
// process context (ProcessContext: cgroups, groups, resource limits, nice
// value). Plugin hosts key plugin agents by both (plugins/host), and the
// sbx front end names its agent by the context (cmd/sbx).
//
// It imports only the standard library and golang.org/x/sys, so that the
// lean front end can use it without linking the plugin host.
package agentenv
