// Package windows is sbx's Windows backend. It serves three backend names
// from one plugin binary:
//
//   - "windows-unelevated": no administrator rights needed. The command runs
//     as the real user under a write-restricted token whose restricting SIDs
//     are sbx's own synthetic SIDs; writes succeed only where sbx granted
//     those SIDs by ACL. Network denial is advisory (environment and stubs).
//   - "windows-elevated": a one-time administrator setup creates a local
//     group and two local users (offline and online), and WFP filters that
//     block all network traffic of the offline user. Commands run as one of
//     those users, through a runner (cmd/sbx-windows-runner) that restricts
//     its own token and starts the command suspended inside a Job object.
//     Network denial is enforced.
//   - "windows": elevated when its setup is in place, else unelevated; the
//     plan and Info say which.
//
// # Plan, then apply
//
// Everything the backend does is first computed by a pure function,
// [BuildPlan]: policy + [HostFacts] → the exact SIDs, token flags, ACEs per
// path (masks, inheritance), WFP filters, environment changes, Job limits
// and runner arguments. The plan is the same on every OS, so
// `sbx explain --backend=windows-elevated` works on Linux and macOS too and
// the plan is table-tested there. [FakeFacts] gives the host facts used on
// non-Windows systems and in tests; real detection lives in facts_windows.go.
//
// The Win32 calls sit in thin *_windows.go files behind small interfaces
// ([TokenAPI], [ACLAPI], [JobAPI], [ProcessAPI], [UserAPI], [FirewallAPI]);
// the launch and setup sequences are tested against fakes that check the
// order of calls, that every handle is closed, that the child is never
// resumed outside its Job, and that a failed setup step rolls back.
//
// # Protected names
//
// Existing protected paths get explicit deny-write ACEs (DELETE included).
// A Windows ACL cannot refuse one name, so while a protected name is
// missing from a writable root the root is frozen: sbx's SIDs may list it
// but not add, remove or rename its entries, and everything below its
// existing entries stays writable (freeze.go, as the Linux backend carves
// its roots).
//
// # Limits
//
// Nothing in this package has been run on a real Windows machine by its
// authors: see docs/backends/windows.md for the threat model and what was
// and was not verified.
package windows
