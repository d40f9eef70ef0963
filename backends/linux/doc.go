// Package linux is sbx's Linux backend: three backend names served by one
// plugin binary.
//
//   - linux-landlock confines a command with Landlock (file system, TCP
//     ports, IPC scopes) and a seccomp filter (sockets, namespaces, ptrace,
//     io_uring, terminal injection), without namespaces, so it works where
//     unprivileged user namespaces are blocked.
//   - linux-namespaces runs the command in new user, mount, pid, network,
//     IPC and UTS namespaces, bubblewrap-style but in Go: a read-only view
//     of the root file system with the writable roots bound read-write and
//     protected names kept read-only, a fresh /proc, a minimal /dev, only
//     loopback when the network is denied, and the same seccomp filter.
//   - linux picks the strongest of the two that works on this host.
//
// Every run goes through a pure plan step: [BuildPlan] turns a policy and
// the host's facts (probed once, see [Probe]) into a typed [Plan]
// (mounts, Landlock rules, seccomp rules, cgroup values) and a
// core.Report that says how strongly each element of the policy is held.
// The plan is then applied by the sandbox helper (package sandbox; the
// small sbx-linux-sandbox binary installed next to the plugin, else a
// re-executed copy of the plugin, see [Reexec]) that restricts itself and
// executes the command.
//
// Resource limits use cgroups (v2, or the v1 hierarchies of a hybrid host
// as root); where no usable cgroup exists the limit is reported absent.
package linux
