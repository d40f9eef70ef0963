//go:build !darwin

package darwin

import (
	"context"
	"fmt"
	"os"

	"github.com/sbxdev/sbx/core"
)

// errNotDarwin is returned by Run on other systems. It matches
// core.ErrUnsupported.
var errNotDarwin = fmt.Errorf("the darwin-seatbelt backend runs commands only on macOS (plans work everywhere: try `sbx explain`): %w", core.ErrUnsupported)

// localHost describes a generic Mac for plans made on another OS: the
// standard /tmp → /private/tmp links, /tmp as the only temporary directory
// (a real Mac adds the user's $TMPDIR under /var/folders) and this user.
func localHost() (Host, error) {
	return Host{
		TempDirs: []string{"/tmp"},
		Resolve:  MacOSLexicalResolve,
		UID:      os.Getuid(),
	}, nil
}

// probe marks the backend unavailable: Seatbelt exists only on macOS.
func probe(_ context.Context, info *core.Info) {
	info.Available = false
	info.Unavailable = "macOS only: Seatbelt (sandbox-exec) does not exist on this OS. `sbx explain --backend=darwin-seatbelt` still shows the profile it would use."
}

// ready refuses: commands run under Seatbelt only on macOS.
func ready(context.Context) error { return errNotDarwin }

// run refuses: commands run under Seatbelt only on macOS.
func run(context.Context, *core.RunRequest, *Profile) (*core.RunResult, error) {
	return nil, errNotDarwin
}
