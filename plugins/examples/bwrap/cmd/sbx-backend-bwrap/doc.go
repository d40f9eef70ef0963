// Command sbx-backend-bwrap is the plugin binary of the example bwrap
// backend. Put it next to sbx, in a directory of $SBX_PLUGIN_PATH, or in a
// configured plugin directory, and `sbx --backend=bwrap run -- CMD` uses it.
package main
