// Package examples holds example third-party sbx backends, written only
// against the public SDK (core, plugins/sdk, plugins/sdk/proc) as an
// outside author would write them. See plugins/examples/bwrap and
// docs/writing-a-backend.md.
package examples
