// Command sbx-linux-sandbox is the sandbox helper of the Linux backends
// (package backends/linux/sandbox): the Landlock/seccomp helper that
// confines itself and executes the command (linux-landlock), the init of
// a new pid namespace (linux-namespaces) and the user-namespace probe.
//
// sbx-backend-linux starts it, from the same directory, with a role name
// as argv[0] and the run's configuration on a pipe; it is not meant to be
// run by hand. It imports only the role code, core and x/sys: no gRPC,
// protobuf or go-plugin, and no cgo (the plugin compiles the seccomp
// filter with libseccomp and hands over the BPF program; Landlock is
// called directly), so it starts about 3 ms faster than re-executing the
// plugin, which is what the plugin does when this binary is missing.
//
// Its name must not start with "sbx-backend-": the host treats those as
// plugins. It needs no cgo; `go build -o bin/ ./cmd/...` installs it next
// to the plugin.
package main
