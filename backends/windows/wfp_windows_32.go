//go:build windows && !(amd64 || arm64)

package windows

import "fmt"

// winFirewall on 32-bit Windows: the WFP structures are laid out for 64-bit
// targets only (see internal/win32), so the elevated setup is refused.
type winFirewall struct{}

var errWFP32 = fmt.Errorf("the elevated mode needs 64-bit Windows (amd64 or arm64): %w", errNotWindows)

// Install refuses; Uninstall and Installed find nothing to do.
func (winFirewall) Install([]WFPFilter) error { return errWFP32 }
func (winFirewall) Uninstall() error          { return nil }
func (winFirewall) Installed() (int, error)   { return 0, nil }
