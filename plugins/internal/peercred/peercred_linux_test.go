package peercred

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary re-executes itself as the peer: with SBX_PEERCRED_DIAL
// set it (optionally) sets no_new_privs and connects to that socket.
func TestMain(m *testing.M) {
	if addr := os.Getenv("SBX_PEERCRED_DIAL"); addr != "" {
		if os.Getenv("SBX_PEERCRED_NNP") != "" {
			if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
				os.Exit(3)
			}
		}
		c, err := net.Dial("unix", addr)
		if err != nil {
			os.Exit(4)
		}
		buf := make([]byte, 1)
		c.Read(buf) // wait until the parent has looked at us
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func peerCheck(t *testing.T, nnp bool) error {
	t.Helper()
	addr := filepath.Join(t.TempDir(), "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SBX_PEERCRED_DIAL="+addr)
	if nnp {
		cmd.Env = append(cmd.Env, "SBX_PEERCRED_NNP=1")
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	c, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return Check(c)
}

func TestCheck_SameUserWithoutNoNewPrivsIsAccepted(t *testing.T) {
	if err := peerCheck(t, false); err != nil {
		t.Fatalf("plain peer refused: %v", err)
	}
}

func TestCheck_PeerWithNoNewPrivsIsRefused(t *testing.T) {
	err := peerCheck(t, true)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("a no_new_privs peer (as every sbx sandbox has) was accepted: %v", err)
	}
}
