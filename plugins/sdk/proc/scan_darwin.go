package proc

import "golang.org/x/sys/unix"

// scanProcs lists every process from sysctl kern.proc.all (no cgo needed);
// the session comes from getsid(2), -1 when it cannot be read.
func scanProcs() map[int]procInfo {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil
	}
	const szomb = 5 // p_stat of a zombie, <sys/proc.h>
	out := make(map[int]procInfo, len(kps))
	for _, kp := range kps {
		pid := int(kp.Proc.P_pid)
		if pid <= 0 {
			continue
		}
		sid, err := unix.Getsid(pid)
		if err != nil {
			sid = -1
		}
		out[pid] = procInfo{ppid: int(kp.Eproc.Ppid), pgid: int(kp.Eproc.Pgid), sid: sid, zombie: kp.Proc.P_stat == szomb}
	}
	return out
}
