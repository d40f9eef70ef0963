package front

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestSocketPath_DependsOnTheBinaryAndTheAgentDirectoryOnly(t *testing.T) {
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
	// One agent for every environment of the user (it keeps a plugin host
	// per plugin-agent environment inside): a venv's PATH, another HOME.
	for _, kv := range []string{"FOO=1", "SBX_NETWORK=allow", "PATH=/venv/bin:/bin", "HOME=/other", "LC_ALL=C"} {
		if p(kv) != first {
			t.Errorf("%s changed the socket", kv)
		}
	}
	if other := p("XDG_RUNTIME_DIR=" + t.TempDir()); filepath.Dir(other) == filepath.Dir(first) {
		t.Error("another runtime directory kept the agent directory")
	}
	if err := os.WriteFile(bin, []byte("ab"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p() == first {
		t.Error("a rebuilt binary kept the socket")
	}
}
