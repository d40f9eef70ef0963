// Package none is the backend that does not sandbox: it runs the command
// directly, as the user, with the environment the policy builds. It exists
// so that sbx has one CLI and one report format even where no sandbox is
// available, and as the baseline `sbx compare` measures others against.
//
// Its plan says so plainly: every element that restricts something (writes
// outside the workspace, protected names, network denial, limits, the
// process tree) is reported Absent, and only the elements that ask for no
// restriction at all (a writable root, reads of everything, network
// allowed) are reported Enforced, because there is nothing to restrict.
// A strict run is therefore refused for any policy that restricts
// something, with a hint to pass --best-effort; with --best-effort the run
// goes on and each downgrade is printed to the run's diagnostics.
//
// Running goes through plugins/sdk/proc, so process I/O, exit statuses and
// terminals behave as with every other backend. The command still gets a
// session of its own, the policy's timeout is still applied, and the
// process tree is still killed when the run ends: those are done on a best
// effort basis and reported Absent, because nothing stops the command from
// escaping them.
package none
