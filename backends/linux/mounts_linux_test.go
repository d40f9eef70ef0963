//go:build linux

package linux

import (
	"strings"
	"testing"
)

// TestNamespaces_OnlyTheSandboxTreeIsMounted: after the pivot, the
// command's mount table holds the sandbox's tree and nothing else: one
// mount at "/" (the read-only host root, not the staging tmpfs stacked on
// it), and no mount of the staging directories /oldroot (the host's tree)
// or /newroot left behind.
func TestNamespaces_OnlyTheSandboxTreeIsMounted(t *testing.T) {
	bothModes(t, func(t *testing.T, s *testbox) {
		if s.b.name != NameNamespaces {
			t.Skip("mount namespaces only")
		}
		res, out, err := s.runResArgv(s.policy(), "cat", "/proc/self/mountinfo")
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%v %+v %s", err, res, out)
		}
		roots := 0
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 10 {
				continue
			}
			mountPoint, fsType := f[4], ""
			for i, x := range f {
				if x == "-" && i+1 < len(f) {
					fsType = f[i+1]
				}
			}
			switch {
			case mountPoint == "/":
				roots++
				if fsType == "tmpfs" {
					t.Errorf("the staging tmpfs is still mounted at /: %s", line)
				}
			case strings.HasPrefix(mountPoint, "/oldroot") || strings.HasPrefix(mountPoint, "/newroot"):
				t.Errorf("a staging mount is left: %s", line)
			}
		}
		if roots != 1 {
			t.Errorf("%d mounts at /, want 1:\n%s", roots, out)
		}
	})
}
