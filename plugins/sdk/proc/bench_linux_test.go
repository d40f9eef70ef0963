package proc

import (
	"context"
	"os"
	"os/exec"
	"testing"
)

// BenchmarkExecTrue is the baseline: fork+exec+wait of /bin/true with
// os/exec.
func BenchmarkExecTrue(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunTrue is what proc adds to it: a new session, the
// parent-death signal, the locked launch thread and the check that nothing
// outlived the command, in a subreaper (TestMain makes the test one).
func BenchmarkRunTrue(b *testing.B) {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), Spec{Argv: []string{"/bin/true"}, Stdin: devnull, Stdout: devnull, Stderr: devnull})
		if err != nil || res.ExitCode != 0 {
			b.Fatal(err, res)
		}
	}
}
