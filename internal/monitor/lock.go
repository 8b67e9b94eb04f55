package monitor

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// LockFile, in the state directory, is locked (flock) by a run's monitor
// from its start until the runtime's state of that run is deleted. The
// monitor reports the exit before that delete (it is not on the path of
// stop, kill or run --rm), so whoever acts on the container's runtime
// state next, the next run's monitor before its create and berthd before
// its own cleanup, waits for the lock first: no create meets a state being
// deleted, no delete meets the next run's container.
const LockFile = "monitor.lock"

// TakeLock locks stateDir's LockFile for a monitor, waiting for a previous
// run's monitor to release it. The lock lasts while the file stays open.
func TakeLock(stateDir string) (*os.File, error) {
	f, err := openLock(stateDir)
	if err != nil {
		return nil, err
	}
	if err := flock(f, unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Hold waits until no monitor of the container whose state directory is
// stateDir is still deleting a finished run's runtime state, and keeps the
// monitors out until release is called. With no state directory there is
// nothing to wait for.
func Hold(ctx context.Context, stateDir string) (release func(), err error) {
	f, err := openLock(stateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := waitLock(ctx, f); err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// waitLock locks f, waiting until ctx ends; on error f is closed (maybe
// later, when the waiting flock returns).
func waitLock(ctx context.Context, f *os.File) error {
	if flock(f, unix.LOCK_EX|unix.LOCK_NB) == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- flock(f, unix.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
		}
		return err
	case <-ctx.Done():
		go func() { <-done; f.Close() }()
		return ctx.Err()
	}
}

// TryHold is Hold without waiting: ok is false while a monitor holds the
// lock (it deletes the runtime's state itself).
func TryHold(stateDir string) (release func(), ok bool) {
	f, err := openLock(stateDir)
	if err != nil {
		return func() {}, true // no state directory: no monitor either
	}
	if flock(f, unix.LOCK_EX|unix.LOCK_NB) != nil {
		f.Close()
		return nil, false
	}
	return func() { f.Close() }, true
}

func openLock(stateDir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(stateDir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// AnyHeld reports whether a monitor holds the lock of a state directory
// under dir (one per container) once ctx ends, i.e. whether a monitor is
// alive there and may still run the runtime. Locks released before ctx
// ends do not count.
func AnyHeld(ctx context.Context, dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, e.Name(), LockFile))
		if err != nil {
			continue
		}
		if waitLock(ctx, f) != nil {
			return true
		}
		f.Close()
	}
	return false
}
