package front

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestSocketPath_DependsOnTheBinaryAndTheAgentEnvironmentOnly(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "sbx-cli")
	if err := os.WriteFile(bin, []byte("a"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := []string{"HOME=/h", "PATH=/bin", "XDG_RUNTIME_DIR=" + dir}
	p := func(env ...string) string {
		s, err := SocketPath(bin, append(append([]string{}, base...), env...))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := p()
	if filepath.Dir(first) != filepath.Join(dir, "sbx-agents-"+strconv.Itoa(os.Getuid())) {
		t.Errorf("socket %s is not in the runtime directory's agent directory", first)
	}
	if p("FOO=1", "SBX_NETWORK=allow") != first {
		t.Error("a variable agents do not depend on changed the socket")
	}
	for _, kv := range []string{"TMPDIR=/t", "HOME=/other", "LC_ALL=C", "SBX_PLUGIN_PATH=/p"} {
		if p(kv) == first {
			t.Errorf("%s did not change the socket", kv)
		}
	}
	if err := os.WriteFile(bin, []byte("ab"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p() == first {
		t.Error("a rebuilt binary kept the socket")
	}
}
