package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// RemoveCgroup removes a stopped container's cgroups (every v1 hierarchy,
// or the unified one) once their last process is gone. The runtime's
// delete does it too, but gives up when a dying process still holds the
// cgroup for a moment (seen under load), and a second delete finds no
// state to act on; this is the sweep that leaves nothing behind. It
// retries for up to two seconds and reports what it could not remove.
func RemoveCgroup(parent, id string) error {
	deadline := time.Now().Add(2 * time.Second)
	var left error
	for _, d := range CgroupDirs(parent, id) {
		for {
			err := unix.Rmdir(d)
			if err == nil || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
				break
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				left = errors.Join(left, &os.PathError{Op: "rmdir", Path: d, Err: err})
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return left
}

// CgroupDirs are the cgroup directories a container of the cgroupfs
// driver has (or had) under parent: in the unified hierarchy at
// /sys/fs/cgroup, or in each v1 hierarchy (and v2's beside them, at
// /sys/fs/cgroup/unified) below it. Those that do not exist are in the
// list too; removing them finds nothing.
func CgroupDirs(parent, id string) []string {
	return CgroupPathDirs(filepath.Join(cgroupParent(parent), id))
}

// CgroupPathDirs is CgroupDirs of a spec's linux.cgroupsPath (absolute,
// as BuildSpec makes it).
func CgroupPathDirs(cgroupsPath string) []string {
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil
	}
	dirs := []string{filepath.Join("/sys/fs/cgroup", cgroupsPath)}
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup", e.Name(), cgroupsPath))
		}
	}
	return dirs
}
