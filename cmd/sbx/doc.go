// Command sbx runs a command in a sandbox: it may write only where the
// policy allows and reach the network only if the policy allows.
//
//	sbx [--backend=NAME] run [flags] -- CMD ARGS...
//
// The policy comes from, lowest precedence first: sbx's defaults, the user
// configuration file, the project file .sbx.toml in the workspace, the
// selected profile, SBX_* environment variables and command-line flags
// (docs/configuration.md). Backends are reached only through the plugin
// host (package plugins/host); `sbx backends` lists them and
// `sbx explain` shows what one would do.
//
// # Layout
//
// root.go builds the command tree (one line per subcommand); cmd_*.go hold
// one subcommand each. The configuration is built in layers (config.go):
// settings.go names the keys, configfile.go parses TOML files, values.go
// parses values the same way for files, SBX_* variables and flags,
// flags.go defines the policy flags (addPolicyFlags) and turns them into a
// policy (resolvePolicy), merge.go merges the layers and records where
// every value came from. Any subcommand that takes a policy reuses
// addPolicyFlags and (*app).resolvePolicy. opener.go is the small
// interface through which the CLI reaches backends; host.go wires it to
// plugins/host, the tests to a fake (fake_test.go). term.go and the
// signals files hold the interactive side of `sbx run`.
//
// # Exit status
//
// sbx run exits with the command's status (a signal death as 128+N, a
// timeout as 124). sbx's own errors, including a policy the backend cannot
// enforce, exit 125; a command that cannot be found exits 127, one that
// cannot be executed 126, as env(1) and docker run do.
package main
