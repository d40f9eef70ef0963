package fdpass

import "golang.org/x/sys/unix"

// A sequenced-packet socket keeps each batch one message and reports the
// host hanging up; received descriptors are close-on-exec from the start.
const (
	sockType  = unix.SOCK_SEQPACKET | unix.SOCK_CLOEXEC
	recvFlags = unix.MSG_CMSG_CLOEXEC
)
