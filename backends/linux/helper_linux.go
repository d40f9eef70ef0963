//go:build linux

package linux

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"

	"github.com/sbxdev/sbx/backends/linux/sandbox"
)

// HelperName is the dedicated sandbox helper binary (cmd/sbx-linux-sandbox),
// looked for next to the plugin's executable. Its name must not start with
// "sbx-backend-": the host would take it for a plugin.
const HelperName = "sbx-linux-sandbox"

// findHelper returns the executable to start for the helper roles: the
// dedicated sbx-linux-sandbox next to this executable when it is there,
// else this executable itself (a re-exec, slower to start). note says which
// and why, for Info.Facts.
func findHelper() (path string, dedicated bool, note string) {
	self, err := os.Executable()
	if err != nil {
		return "", false, "cannot find this executable: " + err.Error()
	}
	return helperNear(self)
}

// helperNear is findHelper for the executable self.
func helperNear(self string) (path string, dedicated bool, note string) {
	p := filepath.Join(filepath.Dir(self), HelperName)
	fi, err := os.Stat(p)
	switch {
	case err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0:
		return p, true, "dedicated helper " + p
	case err == nil:
		return self, false, "re-exec of " + self + " (" + p + " is not an executable file)"
	default:
		return self, false, "re-exec of " + self + " (" + HelperName + " not installed next to it; go build -o bin/ ./cmd/... installs it, and startup is faster with it)"
	}
}

// bpfCache holds the compiled seccomp programs: every run of a policy
// has the same rules, so libseccomp runs once per distinct rule set.
var bpfCache sync.Map // JSON of the SeccompPlan -> []byte

// seccompBPF compiles sp, or returns the program compiled for the same
// rules before.
func seccompBPF(sp *SeccompPlan) ([]byte, error) {
	key, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	if b, ok := bpfCache.Load(string(key)); ok {
		return b.([]byte), nil
	}
	b, err := compileSeccomp(sp)
	if err != nil {
		return nil, err
	}
	bpfCache.Store(string(key), b)
	return b, nil
}

// helperConfig turns the plan and the command into the helper's
// configuration.
func helperConfig(pl *Plan, path string, argv []string, dir string, env []string) (*sandbox.Config, error) {
	cfg := &sandbox.Config{
		Version:          sandbox.Version,
		Loopback:         pl.Loopback,
		DropCapabilities: pl.DropCapabilities,
		Path:             path, Argv: argv, Dir: dir, Env: env,
	}
	for _, m := range pl.Mounts {
		cfg.Mounts = append(cfg.Mounts, sandbox.Mount{Op: m.Op, Source: m.Source, Target: m.Target, Options: m.Options})
	}
	if ll := pl.Landlock; ll != nil {
		cfg.Landlock = &sandbox.Landlock{ABI: ll.ABI, HandledFS: uint64(ll.HandledFS), HandledNet: uint64(ll.HandledNet), Scoped: uint64(ll.Scoped), Terminal: uint64(ll.Terminal)}
		for _, r := range ll.Rules {
			cfg.Landlock.Rules = append(cfg.Landlock.Rules, sandbox.Rule{Path: r.Path, Dir: r.Kind == KindDir, Access: uint64(r.Access)})
		}
	}
	if pl.Seccomp != nil {
		bpf, err := seccompBPF(pl.Seccomp)
		if err != nil {
			return nil, err
		}
		cfg.Seccomp = &sandbox.Seccomp{BPF: bpf}
	}
	return cfg, nil
}
