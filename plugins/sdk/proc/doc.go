// Package proc runs one command on this machine for a backend, with process
// I/O done right. The built-in backends (none, linux, darwin) and third-party
// backends use it; it imports core, x/sys and creack/pty, never the plugin
// transport.
//
// # What Run guarantees
//
//   - The exit status is exact: the exit code, or 128+N with Signal N for a
//     death by signal N (as shells report it). A timeout kills the whole
//     tree and reports TimedOut with exit code 124, as timeout(1) does.
//   - Standard streams that are *os.File are handed to the command as they
//     are: no copy, binary-safe, no throughput cap, a terminal stays a
//     terminal. Other readers and writers are relayed through pipes; Run
//     returns only once the output relays reached EOF, which happens when
//     every process holding the pipe is gone, so a background process that
//     keeps the pipe open cannot make Run hang: it dies in the tree kill
//     that follows the main command's exit, and then the copy ends.
//   - The whole process tree dies when the run ends: on timeout, on
//     cancellation, and after the main command exits (what it left behind
//     is killed too).
//   - The command's environment is exactly Spec.Env (nil means empty, not
//     this process's), and Argv[0] is looked up in that environment's PATH.
//   - The command gets the files its Spec gives (standard streams, the
//     ExtraFiles of Configure) and nothing else: every descriptor this
//     process inherited is made close-on-exec before the first start
//     (package inherit), so a pipe or file left open by whoever started a
//     long-lived plugin never reaches a command.
//   - Spec.Configure may add attributes but not remove the ones proc set
//     (setsid, the controlling terminal, the parent-death signal, Windows'
//     suspended start): Run refuses to start the command if it did.
//
// A relay that copies from a caller's io.Reader which is not an *os.File
// cannot be interrupted: if that Read blocks after the run, the goroutine
// lingers until it returns (and then stops without writing anywhere). With
// a TTY and an *os.File as Stdin (the caller's terminal), reads wait in
// poll/select together with a stop pipe, so the relay ends with the run and
// does not swallow the caller's next keystroke; the file's flags are not
// touched. A terminal has no end of file: EOF of Stdin is not forwarded to
// the pty (type ^D). If output relays make no progress for 10 s after the
// tree kill (a process escaped it while holding the pipe), Run stops
// waiting for them.
//
// # Spare processes (Linux)
//
// A backend that starts the same program with the same attributes for
// every run (a sandbox helper) may start it ahead of time with
// [StartSpare], in a plugin agent ([LongLived]), and hand the next run to
// it through Spec.Spare: Run then sends the spare the run's standard
// streams (or pty), extra files, working directory, umask and whether to
// take the terminal as its controlling terminal, over a socket pair
// (package proc/spare, whose Await the spare calls first thing), instead
// of forking. Everything else is as for a fresh start: the spare is
// forked with setsid and the parent-death signal, from a thread of its
// own that never ends (the signal is tied to the forking thread); it is
// the run's main process for the tree kill; and while it waits it counts
// as a run's main process, so no other run's tree kill or orphan reaping
// touches it. A spare that died while it waited makes Run start the
// command itself.
//
// # Why a new session (setsid)
//
// Without a TTY the command runs in a session of its own, with no
// controlling terminal. It therefore cannot push keystrokes into the
// caller's terminal with TIOCSTI (CVE-2017-5226, the reason for bwrap's
// --new-session), and a Ctrl-C typed in the caller's terminal does not
// reach it directly: the host decides and forwards signals through
// Spec.Signals, which go to the command's process group. Setsid also makes
// the command the leader of a process group and session whose ids are its
// pid, the first handle of the tree kill.
//
// With Spec.TTY the command gets a new pseudo terminal as its controlling
// terminal (new session + TIOCSCTTY). Job control and line editing work
// inside; the caller's bytes are relayed to the pty, so a Ctrl-C arrives as
// the byte 0x03 and the pty's line discipline turns it into SIGINT for the
// foreground job. Signals from Spec.Signals go to the pty's foreground
// process group.
//
// # The tree kill, per OS
//
// Linux: a process group kill is not enough, since a process can leave the
// group (setsid, setpgid) and a double-forked daemon is reparented away from
// the tree. The tree kill reads /proc and takes the command, its
// descendants, every process of its session or process group, and the
// orphans reparented to this process. It first freezes them with SIGSTOP,
// scanning again until no new process appears (a stopped process cannot
// fork, so nothing escapes between the scan and the kill), then SIGKILLs
// them and the group, and repeats until nothing is left.
//
// Orphans whose parent died are reparented to init, out of reach, unless
// this process is a child subreaper: plugins call [BecomeSubreaper] once at
// start, so orphans come back to them and are found as their children.
// Those orphans are then reaped one pid at a time, never with wait(-1), so
// the exit status of any other exec.Cmd child of the process is not stolen:
// main processes of runs are excluded (exec.Cmd.Wait reaps them), and so
// are children in this process's own session (proc always starts commands
// in a new session, so those are other code's). Code that shares the
// process with proc after BecomeSubreaper must therefore not start its own
// children with Setsid outside proc. Without BecomeSubreaper nothing is
// reaped but the runs' main processes: no orphan comes back to be reaped. An orphan with a session of its own
// (setsid + double fork) cannot be attributed to one of several runs in
// progress at once: it is killed when the last of them ends.
//
// The command also gets Pdeathsig=SIGKILL, so it dies if the plugin dies.
// The kernel ties that signal to the thread that forked the child, not the
// process, and Go may retire threads: Run starts the child from its own
// goroutine, locked to its OS thread (runtime.LockOSThread) until the child
// has been waited for.
//
// macOS: the same freeze-and-kill over the process table read with sysctl
// kern.proc.all (no cgo needed: parent, process group, and the session from
// getsid), minus the subreaper, which macOS does not have: a descendant
// that both left the session (setsid) and lost its parent before the kill
// (a double-forked daemon) is reparented to launchd and can no longer be
// told apart from any other process, so it survives the run. There is no
// parent-death signal either. The darwin backend adds its own containment
// on top (Spec.KillTree).
//
// Other Unixes: the tree kill is a SIGKILL to the process group only.
//
// Windows: no TTY yet (an error wrapping core.ErrUnsupported). The command
// is created suspended in a new process group, put in a job object with
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, then resumed, so every process it
// creates is in the job from the first instruction; the tree kill terminates
// the job, and closing the job (even by the plugin dying) kills what is
// left. SIGINT is sent as CTRL_BREAK_EVENT to the command's process group;
// other signals terminate the job with exit code 128+N.
package proc
