package spare

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// ControlFD is the spare's end of the control socket: proc.StartSpare
// puts it at descriptor 3.
const ControlFD = 3

// Version is the version of the hand-over message.
const Version = 1

// MaxFiles is the most descriptors one hand-over carries: the three
// standard streams and up to 5 extra files.
const MaxFiles = 8

// Reserved is how many descriptors from ControlFD on a spare starts with
// (the control socket, then /dev/null): the slots of the extra files, held
// so that nothing else (the Go runtime's own descriptors, say) is opened
// there before [Await] installs the run's files. Await closes the ones the
// run does not use.
const Reserved = MaxFiles - 3

// maxMessage bounds the message: the header and a working directory of up
// to PATH_MAX bytes.
const maxMessage = headerSize + unix.PathMax

// headerSize is the fixed part of the message: version, flags, umask.
const headerSize = 6

// Flags of [Header].
const (
	// FlagCtty makes descriptor 0, a terminal, the spare's controlling
	// terminal (the spare is a session leader without one).
	FlagCtty = 1 << iota
	// FlagUmask sets the file mode creation mask to Header.Umask.
	FlagUmask
)

// ErrNoRun is returned by [Await] when the parent closed the control
// socket without handing over a run: the spare is not needed any more and
// should exit quietly.
var ErrNoRun = errors.New("spare: no run was handed over")

// Header is what a hand-over says besides its descriptors.
type Header struct {
	// Flags is a set of FlagCtty and FlagUmask.
	Flags byte
	// Umask is the mask to set, with FlagUmask.
	Umask uint32
	// Dir is the working directory; empty keeps the spare's.
	Dir string
}

// Encode returns the message bytes for h.
func (h Header) Encode() []byte {
	b := make([]byte, headerSize, headerSize+len(h.Dir))
	b[0], b[1] = Version, h.Flags
	binary.LittleEndian.PutUint32(b[2:], h.Umask)
	return append(b, h.Dir...)
}

// Decode parses a message made by Encode; bad input is an error.
func Decode(b []byte) (Header, error) {
	var h Header
	switch {
	case len(b) < headerSize:
		return h, fmt.Errorf("spare: hand-over of %d bytes, shorter than its header", len(b))
	case b[0] != Version:
		return h, fmt.Errorf("spare: hand-over version %d, this spare speaks %d: the plugin and its helper come from different builds", b[0], Version)
	case b[1]&^(FlagCtty|FlagUmask) != 0:
		return h, fmt.Errorf("spare: unknown hand-over flags %#x", b[1])
	case len(b) > maxMessage:
		return h, fmt.Errorf("spare: hand-over of %d bytes, longer than any valid one", len(b))
	}
	h.Flags = b[1]
	h.Umask = binary.LittleEndian.Uint32(b[2:])
	if h.Flags&FlagUmask != 0 && h.Umask > 0o777 {
		return h, fmt.Errorf("spare: umask %o has bits beyond 0777", h.Umask)
	}
	h.Dir = string(b[headerSize:])
	if strings.IndexByte(h.Dir, 0) >= 0 {
		return h, fmt.Errorf("spare: working directory contains a NUL byte")
	}
	return h, nil
}

// Await waits on [ControlFD] for a run and installs what it hands over:
// the descriptors at 0, 1, 2, 3, ... (not close-on-exec: the command
// inherits them; the control socket is gone afterwards, replaced or
// closed), then the umask, the working directory and the controlling
// terminal the header asks for. It returns [ErrNoRun] when the parent
// closed the socket instead. Call it before starting any goroutine that
// could open files: descriptors 3 and up are taken over.
func Await() error {
	buf := make([]byte, maxMessage+1)
	oob := make([]byte, unix.CmsgSpace(MaxFiles*4))
	var n, oobn, flags int
	var err error
	for {
		n, oobn, flags, _, err = unix.Recvmsg(ControlFD, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("spare: waiting for a run: %w", err)
	}
	fds, ferr := rights(oob[:oobn])
	if ferr == nil && flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		ferr = fmt.Errorf("spare: hand-over truncated")
	}
	if n == 0 && oobn == 0 && ferr == nil {
		_ = unix.Close(ControlFD)
		return ErrNoRun
	}
	h, herr := Decode(buf[:n])
	switch {
	case ferr != nil:
		closeAll(fds)
		return ferr
	case herr != nil:
		closeAll(fds)
		return herr
	case len(fds) < 3:
		closeAll(fds)
		return fmt.Errorf("spare: hand-over with %d descriptors, fewer than the three standard streams", len(fds))
	}
	if err := install(fds); err != nil {
		return err
	}
	if h.Flags&FlagUmask != 0 {
		unix.Umask(int(h.Umask))
	}
	if h.Dir != "" {
		if err := unix.Chdir(h.Dir); err != nil {
			return fmt.Errorf("spare: working directory %s: %w", h.Dir, err)
		}
	}
	if h.Flags&FlagCtty != 0 {
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
			return fmt.Errorf("spare: making the terminal the controlling terminal: %w", err)
		}
	}
	return nil
}

// rights returns the descriptors of the SCM_RIGHTS messages in oob.
func rights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("spare: hand-over control data: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			closeAll(fds)
			return nil, fmt.Errorf("spare: hand-over control data: %w", err)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// install puts fds at 0, 1, 2, ... in order. It first moves every one of
// them above the reserved slots, so that none is overwritten before it is
// installed, and closes the reserved slots left over.
func install(fds []int) error {
	high := make([]int, 0, len(fds))
	for _, fd := range fds {
		h, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, ControlFD+MaxFiles+1)
		if err != nil {
			closeAll(high)
			closeAll(fds)
			return fmt.Errorf("spare: moving a handed-over descriptor: %w", err)
		}
		high = append(high, h)
	}
	closeAll(fds)
	for i, h := range high {
		if err := unix.Dup3(h, i, 0); err != nil {
			closeAll(high[i:])
			return fmt.Errorf("spare: installing descriptor %d: %w", i, err)
		}
		_ = unix.Close(h)
	}
	// The reserved slots the run does not fill (the control socket among
	// them when it brings no extra file) must not reach the command.
	for fd := max(len(high), ControlFD); fd < ControlFD+Reserved; fd++ {
		_ = unix.Close(fd)
	}
	return nil
}

// closeAll closes fds.
func closeAll(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}
