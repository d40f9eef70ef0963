// Package linuxbench measures the startup and file-workload overhead of the
// Linux backends, in process (Backend.Run, no plugin hop), against running
// the command directly, through the runner without a sandbox, and through
// bubblewrap, in the same run. The benchmarks are Linux-only test files;
// see README.md and run.sh.
package linuxbench
