package main

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/sbxdev/sbx/core"
)

// terminal is sbx's controlling terminal, behind an interface so that the
// raw-mode and resize logic of `sbx run` is tested with a fake.
type terminal interface {
	// IsTerminal reports whether stdin and stdout are both a terminal.
	IsTerminal() bool
	// Size returns the current window size.
	Size() (core.WindowSize, error)
	// MakeRaw puts the terminal in raw mode and returns the function that
	// restores it.
	MakeRaw() (restore func() error, err error)
}

// fileTerminal is the terminal on stdin/stdout.
type fileTerminal struct {
	in, out *os.File
}

func newFileTerminal(in, out *os.File) *fileTerminal { return &fileTerminal{in: in, out: out} }

func (t *fileTerminal) IsTerminal() bool {
	return term.IsTerminal(int(t.in.Fd())) && term.IsTerminal(int(t.out.Fd()))
}

func (t *fileTerminal) Size() (core.WindowSize, error) {
	w, h, err := term.GetSize(int(t.out.Fd()))
	if err != nil {
		return core.WindowSize{}, err
	}
	return core.WindowSize{Rows: uint16(h), Cols: uint16(w)}, nil
}

func (t *fileTerminal) MakeRaw() (func() error, error) {
	fd := int(t.in.Fd())
	st, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	restoreOut := enableVTOutput(t.out)
	return func() error {
		restoreOut()
		return term.Restore(fd, st)
	}, nil
}

// crlfWriter turns "\n" into "\r\n": sbx's own messages written while the
// terminal is raw (downgrade warnings) would otherwise staircase.
type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(p []byte) (int, error) {
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}
