package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// RemoveState removes an exited container's runtime state as the runtime's
// delete of a stopped crun or runc container does (Config.RuntimeState
// says when that is all it does): its cgroup directories, then its state
// directory. It runs no runtime: `crun delete` costs tens of milliseconds
// of CPU (most of an exit's), these are a few syscalls.
//
// Processes of the container that are still exiting are waited for, up
// to wait, through cgroup v2's populated event (poll, no sleeps). When
// anything is not as that delete would find it (processes left after
// wait, a cgroup without v2's event holding processes, a sub-cgroup, a
// directory in the state) it stops with an error, having removed only
// what is gone for good: the caller then runs the runtime's delete, which
// kills and removes the rest.
func RemoveState(runtimeState string, cgroups []string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	// The container's processes are in the same cgroups in every
	// hierarchy: once v2's says none is left, v1's are empty too.
	for _, dir := range cgroups {
		if err := awaitUnpopulated(dir, deadline); err != nil {
			return err
		}
	}
	for _, dir := range cgroups {
		if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
			return &os.PathError{Op: "rmdir", Path: dir, Err: err}
		}
	}
	if runtimeState == "" {
		return nil
	}
	return removeFlatDir(runtimeState)
}

// awaitUnpopulated waits until the cgroup v2 directory dir holds no
// process, or deadline. A directory without cgroup.events (cgroup v1, or
// gone) is not waited for.
func awaitUnpopulated(dir string, deadline time.Time) error {
	fd, err := unix.Open(filepath.Join(dir, "cgroup.events"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	for {
		populated, err := readPopulated(fd)
		if err != nil || !populated {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("cgroup %s still holds processes", dir)
		}
		// cgroup.events signals a change with POLLPRI (kernfs_notify).
		_, err = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}, int(left.Milliseconds())+1)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("wait for cgroup %s: %w", dir, err)
		}
	}
}

// readPopulated reads the "populated" key of a cgroup.events file.
func readPopulated(fd int) (bool, error) {
	var b [256]byte
	n, err := unix.Pread(fd, b[:], 0)
	if err != nil {
		return false, fmt.Errorf("read cgroup.events: %w", err)
	}
	for _, line := range bytes.Split(b[:n], []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("populated ")); ok {
			return string(v) != "0", nil
		}
	}
	return false, errors.New("cgroup.events without populated")
}

// removeFlatDir removes dir and the files in it; a subdirectory is not
// the runtime's state as known, and is left to the runtime.
func removeFlatDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			return fmt.Errorf("runtime state %s holds a directory %s", dir, e.Name())
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
