//go:build unix && !linux

package fdpass

import "golang.org/x/sys/unix"

// macOS has no sequenced-packet Unix sockets; datagrams keep batches whole.
// Descriptors are made close-on-exec right after they arrive.
const (
	sockType  = unix.SOCK_DGRAM
	recvFlags = 0
)
