package monitor

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ReleaseFifo lets a created container's init run, as crun's start does
// (libcrun_status_write_exec_fifo): open the exec fifo for writing, remove
// it (the runtime's state then says running) and write one byte, which
// the init, waiting to read it, takes as its go. Unlike the runtime it
// never blocks: without a reader (the init is gone) it fails.
func ReleaseFifo(path string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENXIO {
			return fmt.Errorf("container is not running: no process waits on %s", path)
		}
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Unlink(path); err != nil {
		return &os.PathError{Op: "unlink", Path: path, Err: err}
	}
	if _, err := unix.Write(fd, []byte{0}); err != nil {
		return fmt.Errorf("write to exec.fifo: %w", err)
	}
	return nil
}
