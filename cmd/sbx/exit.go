package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"

	"github.com/sbxdev/sbx/core"
)

// Exit statuses of sbx itself, as env(1) and docker run use them.
const (
	// exitSbxError: sbx failed (bad flag or configuration, unknown or
	// unavailable backend, a policy the backend cannot enforce, a plugin
	// that died). Nothing was run, or the run was not completed.
	exitSbxError = 125
	// exitCannotExecute: the command was found but could not be executed.
	exitCannotExecute = 126
	// exitNotFound: the command was not found.
	exitNotFound = 127
)

// exitStatus is returned by `sbx run` when the command ended: sbx exits
// with Code and prints nothing more.
type exitStatus struct{ Code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// codedError is an sbx error with an exit status other than 125: a run
// whose command could not be started.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// exitCode maps the error a command returned to sbx's exit status: the
// command's status, the status of a codedError (runError makes them for a
// command that could not be started), else 125. The text of other errors
// is not looked at: "no such file or directory" from sbx's own work (a
// deleted current directory) is not a command that was not found.
func exitCode(err error) int {
	var es *exitStatus
	var ce *codedError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &es):
		return es.Code
	case errors.As(err, &ce):
		return ce.code
	}
	return exitSbxError
}

// commandProblem tells whether an unclassed error of Backend.Run means the
// command itself could not be started: 127 when it was not found, 126 when
// it could not be executed, 0 otherwise. Errors of a core class are sbx's
// own (a policy refusal, a dead plugin, a permission the backend lacked),
// whatever their text. An error from a backend across the plugin boundary
// keeps only its message, so the message is matched too; runError is its
// only caller, so that the text of sbx's other errors is never matched.
func commandProblem(err error) int {
	if core.Classify(err) != nil {
		return 0
	}
	msg := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist),
		strings.Contains(msg, "executable file not found"),
		strings.Contains(msg, "command not found"),
		strings.Contains(msg, "no such file or directory"):
		return exitNotFound
	case errors.Is(err, fs.ErrPermission),
		strings.Contains(msg, "permission denied"),
		strings.Contains(msg, "exec format error"):
		return exitCannotExecute
	}
	return 0
}
