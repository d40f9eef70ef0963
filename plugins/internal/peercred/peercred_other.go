//go:build !linux

package peercred

import (
	"errors"
	"net"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Supported reports whether peer checks work on this OS.
const Supported = false

// ErrRefused is returned for a peer that may not use an agent.
var ErrRefused = errors.New("peercred: peer checks are Linux-only; agents are not used on this OS")

// Check always refuses on this OS.
func Check(c *net.UnixConn) error { return ErrRefused }

// CheckServer always refuses on this OS.
func CheckServer(c *net.UnixConn, pid int) error { return ErrRefused }

// Creds is never used on this OS (no agents); it returns insecure
// credentials only so that callers compile.
func Creds() credentials.TransportCredentials { return insecure.NewCredentials() }
