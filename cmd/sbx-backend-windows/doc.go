// Command sbx-backend-windows is the Windows backend plugin of sbx. It
// serves windows-unelevated, windows-elevated and windows (see package
// backends/windows). On other systems it still serves their plans, so
// `sbx explain --backend=windows-elevated` works anywhere.
package main
