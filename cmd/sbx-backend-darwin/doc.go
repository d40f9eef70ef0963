// Command sbx-backend-darwin is sbx's macOS backend plugin: it serves the
// backends "darwin-seatbelt" and "darwin" (see package
// github.com/sbxdev/sbx/backends/darwin). Importing that package also makes
// this binary the limits helper when started with its helper role; that
// happens in the package's init, before main.
package main
