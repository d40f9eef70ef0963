package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sbxdev/sbx/cmd/sbx/internal/front"
)

// cliName is the full CLI's binary, looked for beside this one.
const cliName = "sbx-cli"

// exitSbxError is sbx's own failure status (cmd/sbx exit.go).
const exitSbxError = 125

func main() {
	cli, err := cliPath()
	if err != nil {
		fail(err)
	}
	if os.Getenv(front.EnvDisable) == "0" {
		execCLI(cli, "")
	}
	environ := os.Environ()
	sock, err := front.SocketPath(cli, environ)
	if err != nil {
		execCLI(cli, "")
	}
	wd, err := os.Getwd()
	if err != nil {
		execCLI(cli, "") // the CLI reports it
	}
	// Reading the mask means setting it: nothing else runs yet that could
	// create a file meanwhile.
	mask := syscall.Umask(0)
	syscall.Umask(mask)
	umask := uint32(mask)
	req := front.Request{Version: front.Version, Args: os.Args[1:], Env: environ, Dir: wd, Umask: &umask}
	if inBackground() {
		// A background job on a terminal: the CLI itself must meet the
		// terminal, so that job control stops it (SIGTTOU) when it wants
		// to change the terminal's mode, instead of an agent — outside
		// the session, never stopped — making the shell's terminal raw.
		execCLI(cli, sock)
	}
	c, err := front.Dial(sock)
	if err != nil {
		// No agent: the full CLI runs this command and starts one.
		execCLI(cli, sock)
	}
	if err := c.Send(req, [3]int{0, 1, 2}); err != nil {
		// Nothing ran (a closed standard stream, an agent that just
		// left): the full CLI runs it.
		c.Close()
		execCLI(cli, "")
	}
	// Signals are caught only now, off the path to the agent: one that
	// arrives before this ends the front end, which the agent sees as a
	// hang-up and treats as the signal would have treated the CLI (the
	// run is cancelled).
	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, signalsOf(front.Signals)...)
	go func() {
		for s := range sigc {
			if n, ok := s.(syscall.Signal); ok {
				_ = c.Signal(n)
			}
		}
	}()
	reply, err := c.Wait()
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("it ended without an answer")
		}
		fail(fmt.Errorf("the sbx front-end agent at %s failed: %v; the command may have run in part. Run it again, or set SBX_FRONT=0 to bypass the agent", sock, err))
	}
	if reply.Fallback {
		c.Close()
		signal.Reset()
		execCLI(cli, "")
	}
	os.Exit(reply.Code)
}

// inBackground reports whether stdin is this process's controlling terminal
// and another process group is in its foreground.
func inBackground() bool {
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && fg != unix.Getpgrp()
}

// cliPath returns the full CLI beside this executable.
func cliPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find this program's own path: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	cli := filepath.Join(filepath.Dir(exe), cliName)
	if _, err := os.Stat(cli); err != nil {
		return "", fmt.Errorf("%s is missing beside %s (%v): install both binaries in the same directory", cliName, exe, err)
	}
	return cli, nil
}

// execCLI replaces this process with the full CLI, telling it where an
// agent should listen when socket is set.
func execCLI(cli, socket string) {
	env := os.Environ()
	if socket != "" {
		env = append(env, front.EnvSocket+"="+socket)
	}
	args := append([]string{os.Args[0]}, os.Args[1:]...)
	err := syscall.Exec(cli, args, env)
	fail(fmt.Errorf("cannot run %s: %w", cli, err))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "sbx: %v\n", err)
	os.Exit(exitSbxError)
}

func signalsOf(sigs []syscall.Signal) []os.Signal {
	out := make([]os.Signal, len(sigs))
	for i, s := range sigs {
		out[i] = s
	}
	return out
}
