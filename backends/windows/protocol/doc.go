// Package protocol is the framed protocol between the sbx Windows plugin and
// its command runner (cmd/sbx-windows-runner), over one duplex named pipe.
//
// # Frames
//
// Every frame is
//
//	length  uint32, little endian: the number of bytes that follow (2..MaxFrame)
//	version uint8: Version
//	type    uint8: a Type
//	payload length-2 bytes: raw bytes for stream data, JSON otherwise
//
// A reader checks the length against MaxFrame before allocating, rejects an
// unknown version or type with an error matching core.ErrProtocol, and never
// returns a partial frame.
//
// # Conversation
//
//	runner → plugin  Hello{nonce, pid, version}   (first frame, always)
//	plugin → runner  Spawn{argv, dir, env, ...}
//	runner → plugin  Started{pid}  or  Error{stage, code, message}
//	both ways        Stdin / StdinEOF / Stdout / Stderr / Signal / Resize
//	runner → plugin  Exit{exit_code, ...}  (last frame)
//
// The plugin drops the connection if Hello's nonce differs from the one it
// put on the runner's command line, or if the pipe's client process is not
// the runner it started (GetNamedPipeClientProcessId).
//
// This package is pure Go and has no OS dependency; it is fully tested on
// every platform.
package protocol
