package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
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
	names := cgroupHierarchies()
	if names == nil {
		return nil
	}
	dirs := make([]string, 0, 1+len(names))
	dirs = append(dirs, filepath.Join(cgroupFS, cgroupsPath))
	for _, n := range names {
		dirs = append(dirs, filepath.Join(cgroupFS, n, cgroupsPath))
	}
	return dirs
}

const cgroupFS = "/sys/fs/cgroup"

// hierarchies caches the directories of /sys/fs/cgroup (the v1
// hierarchies) while the directory is unchanged (same inode and mtime: a
// hierarchy mounted there later is a new directory in it). Reading it at
// every start was ~6 KB of garbage.
var hierarchies struct {
	sync.Mutex
	ino   uint64
	mtime unix.Timespec
	names []string
}

// cgroupHierarchies returns the names of the directories in
// /sys/fs/cgroup, or nil when it cannot be read.
func cgroupHierarchies() []string {
	var st unix.Stat_t
	if err := unix.Stat(cgroupFS, &st); err != nil {
		return nil
	}
	h := &hierarchies
	h.Lock()
	defer h.Unlock()
	if h.names != nil && h.ino == st.Ino && h.mtime == st.Mtim {
		return h.names
	}
	entries, err := os.ReadDir(cgroupFS)
	if err != nil {
		return nil
	}
	names := []string{}
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	h.ino, h.mtime, h.names = st.Ino, st.Mtim, names
	return names
}
