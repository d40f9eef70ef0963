// Package e2e holds sbx's end-to-end tests: they build the real binaries
// (sbx and every backend plugin) and drive `sbx run` through real plugin
// subprocesses, checking what a user sees: exit statuses, standard streams,
// terminals, timeouts, and that no process outlives a run, even when sbx or
// the plugin is killed. It has no code of its own.
package e2e
