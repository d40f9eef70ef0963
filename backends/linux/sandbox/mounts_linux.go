//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The new root is assembled the way bubblewrap does it: a private tmpfs
// becomes the root for a moment (the host's root moved under /oldroot),
// the sandbox's root is built at /newroot from binds of /oldroot, and a
// final pivot_root switches to it and detaches everything else.
const (
	oldRoot = "/oldroot"
	newRoot = "/newroot"
)

// mountStagingDir is where the new root is assembled (in the new mount
// namespace).
const mountStagingDir = "/tmp"

// setupMounts applies mounts in the new mount namespace.
func setupMounts(mounts []Mount) error {
	for _, m := range mounts {
		if err := applyMount(m); err != nil {
			return fmt.Errorf("mount step %s %s: %w", m.Op, m.Target, err)
		}
	}
	return nil
}

func applyMount(m Mount) error {
	dst := filepath.Join(newRoot, m.Target)
	src := filepath.Join(oldRoot, m.Source)
	switch m.Op {
	case MountPrivate:
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return err
		}
		// Stage: a tmpfs on /tmp (of this namespace only) becomes the root.
		if err := unix.Mount("tmpfs", mountStagingDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
			return fmt.Errorf("staging tmpfs: %w", err)
		}
		for _, d := range []string{oldRoot, newRoot} {
			if err := os.Mkdir(mountStagingDir+d, 0o755); err != nil {
				return err
			}
		}
		if err := unix.PivotRoot(mountStagingDir, mountStagingDir+oldRoot); err != nil {
			return fmt.Errorf("pivot_root to the staging tmpfs: %w", err)
		}
		return unix.Chdir("/")
	case MountRootRO:
		if err := unix.Mount(oldRoot, newRoot, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		return readOnly(newRoot)
	case MountProc:
		flags, data := mountOptions(m.Options)
		return unix.Mount("proc", dst, "proc", flags, data)
	case MountTmpfs:
		if err := ensureDir(dst); err != nil {
			return err
		}
		flags, data := mountOptions(m.Options)
		return unix.Mount("tmpfs", dst, "tmpfs", flags, data)
	case MountDevNode:
		if err := ensureFile(dst); err != nil {
			return err
		}
		return unix.Mount(src, dst, "", unix.MS_BIND, "")
	case MountDevpts:
		if err := ensureDir(dst); err != nil {
			return err
		}
		flags, data := mountOptions(m.Options)
		return unix.Mount("devpts", dst, "devpts", flags, data)
	case MountSymlink:
		return os.Symlink(m.Source, dst)
	case MountConsole:
		// Only when stdin is a terminal (a --tty run gets a pty slave of
		// the host's devpts, invisible in the new instance).
		src, ok := terminalNode()
		if !ok {
			return nil
		}
		if err := ensureFile(dst); err != nil {
			return err
		}
		return unix.Mount(src, dst, "", unix.MS_BIND, "")
	case MountReadOnly:
		if _, err := os.Lstat(dst); err != nil {
			return nil // not on this kernel
		}
		if err := unix.Mount(dst, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		return readOnly(dst)
	case MountBindRW, MountBindRO:
		return bind(src, dst, m.Op == MountBindRO)
	case MountPivotRoot:
		// Make /newroot the root: pivot_root(".", ".") stacks the staging
		// tmpfs on top of it, with the host's tree still mounted at
		// /oldroot inside it. One lazy detach of the staging tmpfs takes
		// that whole subtree along (MNT_DETACH is recursive; the mounts
		// are private): one unmount, one RCU grace period, where
		// detaching /oldroot first cost a second one (≈ 0.1 ms).
		// TestNamespaces_OnlyTheSandboxTreeIsMounted checks that nothing
		// of either is left.
		if err := unix.Chdir(newRoot); err != nil {
			return err
		}
		if err := unix.PivotRoot(".", "."); err != nil {
			return fmt.Errorf("pivot_root: %w", err)
		}
		if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
			return fmt.Errorf("detaching the staging root and the host's tree: %w", err)
		}
		return unix.Chdir("/")
	}
	return fmt.Errorf("unknown mount operation %q", m.Op)
}

// mountOptions splits a plan's mount options ("mode=1777,nosuid,nodev")
// into the mount flags they name and the file system's own options, which
// the kernel checks (an unknown one fails the mount).
func mountOptions(opts string) (flags uintptr, data string) {
	var rest []string
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "":
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "noexec":
			flags |= unix.MS_NOEXEC
		default:
			rest = append(rest, o)
		}
	}
	return flags, strings.Join(rest, ",")
}

// bind binds src on dst (recursively), read-only when ro. Neither may be a
// symlink: mount(2) would follow it.
func bind(src, dst string, ro bool) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symlink; refusing to bind it (plan again)", src)
	}
	if fi.IsDir() {
		err = ensureDir(dst)
	} else {
		err = ensureFile(dst)
	}
	if err != nil {
		return err
	}
	if dfi, err := os.Lstat(dst); err != nil || dfi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("mount point %s is missing or a symlink", dst)
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if ro {
		return readOnly(dst)
	}
	return nil
}

// readOnly makes the mount at path and every mount below it read-only,
// keeping their other flags (nosuid, nodev, noexec may be locked).
func readOnly(path string) error {
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	err := unix.MountSetattr(unix.AT_FDCWD, path, unix.AT_RECURSIVE, attr)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("mount_setattr(%s, read-only, recursive): %w", path, err)
	}
	// Before Linux 5.12: remount the top mount only, keeping its flags.
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return err
	}
	flags := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	return unix.Mount("", path, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|flags, "")
}

// ensureDir creates dst when it is missing (only possible on a tmpfs of
// the sandbox; the read-only root refuses).
func ensureDir(dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	return os.MkdirAll(dst, 0o755)
}

// ensureFile creates an empty file at dst when it is missing, as a mount
// point.
func ensureFile(dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// terminalNode returns the path, under the old root, of the pty slave
// that is stdin, when it is one of the host's /dev/pts. The open file
// itself cannot be bound: it belongs to the mount namespace the helper
// left, and mount(2) binds only mounts of its own namespace. So the
// node is found again by number in this namespace's copy of /dev/pts and
// must be the same inode.
func terminalNode() (string, bool) {
	if !isTerminal(0) {
		return "", false
	}
	var st unix.Stat_t
	if unix.Fstat(0, &st) != nil {
		return "", false
	}
	major, minor := unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	if major < 136 || major > 143 { // Unix98 pty slaves
		return "", false
	}
	path := filepath.Join(oldRoot, "dev/pts", strconv.FormatUint(uint64((major-136)*256+minor), 10))
	var node unix.Stat_t
	if unix.Stat(path, &node) != nil || node.Dev != st.Dev || node.Ino != st.Ino {
		return "", false
	}
	return path, true
}
