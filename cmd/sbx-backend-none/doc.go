// Command sbx-backend-none is the plugin serving the "none" backend: it runs
// commands unsandboxed and reports every boundary absent. It exists to
// compare against and to test the plugin plumbing; sbx refuses to use it
// unless the run accepts downgrades (--best-effort).
package main
