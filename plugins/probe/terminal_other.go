//go:build !linux

package probe

import (
	"errors"
	"io"
)

// openTerminal is only needed by the Linux-only TIOCSTI probe.
func openTerminal() (string, io.Closer, error) {
	return "", nil, errors.New("the TIOCSTI probe is Linux only")
}
