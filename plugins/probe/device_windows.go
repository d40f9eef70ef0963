package probe

import (
	"path/filepath"
	"strings"
)

// sameDevice reports whether a and b are on one volume (same drive).
func sameDevice(a, b string) bool {
	return strings.EqualFold(filepath.VolumeName(a), filepath.VolumeName(b))
}
