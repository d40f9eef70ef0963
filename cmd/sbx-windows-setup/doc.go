// Command sbx-windows-setup is the one-time administrator setup of the
// Windows backend's elevated mode: it creates the sbx-sandbox group and the
// sbx-offline and sbx-online users, installs the WFP filters that take the
// network away from sbx-offline, and grants the group read access to the
// user's tools. `sbx setup --backend=windows-elevated` starts it with
// ShellExecuteEx("runas"), which shows the UAC prompt; `--undo` removes
// everything it made.
//
// Manifest: this binary should carry an application manifest with
// requestedExecutionLevel level="requireAdministrator". Embedding one needs
// a .syso resource built by a resource compiler, which the sbx build does
// not use; the plugin elevates explicitly with the "runas" verb instead,
// and the program refuses to run unelevated. See
// docs/backends/windows.md for how to embed the manifest in a release
// build.
package main
