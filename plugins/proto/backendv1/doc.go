// Package backendv1 is the generated Go code of the sbx backend plugin
// protocol, version 1 (backend.proto beside this file, which documents the
// flow). Backend authors use it through [github.com/sbxdev/sbx/plugins/sdk];
// plugins in other languages implement backend.proto directly.
package backendv1
