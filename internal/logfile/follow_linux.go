package logfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watcher reports changes in the log's directory: writes to, creation of,
// and renames of the log files. One directory watch covers the current file
// and its replacement after a rotation.
type watcher struct {
	f   *os.File // the inotify descriptor, non-blocking, in Go's poller
	buf []byte
}

func newWatcher(path string) (*watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("follow container log: inotify: %w", err)
	}
	const mask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_DELETE | unix.IN_CLOSE_WRITE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("follow container log: watch %s: %w", filepath.Dir(path), err)
	}
	return &watcher{f: os.NewFile(uintptr(fd), "inotify"), buf: make([]byte, 4096)}, nil
}

// wait blocks until at least one event arrives. It returns an error when
// the read deadline set on w.f passes.
func (w *watcher) wait() error {
	_, err := w.f.Read(w.buf)
	return err
}

func (w *watcher) close() { w.f.Close() }

// follow reads cur (the file at path when Read opened it, possibly nil) to
// its end and then after every change, switching to the new file at path
// when the old one was rotated away or truncated.
func follow(ctx context.Context, w *watcher, path string, cur *os.File, d *decoder) error {
	if !d.opts.Until.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.opts.Until)
		defer cancel()
	}
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	for {
		if cur == nil {
			f, err := os.Open(path)
			if err == nil {
				cur = f
				d.reset()
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("follow container log: %w", err)
			}
		}
		if cur != nil {
			if err := d.readAll(cur); err != nil {
				return err
			}
			// Rotated (path is a new file) or truncated (max-file 1): the
			// old descriptor has been read to its end; continue on path.
			var st1, st2 syscall.Stat_t
			if err := syscall.Fstat(int(cur.Fd()), &st1); err != nil {
				return fmt.Errorf("follow container log: %w", err)
			}
			pos, _ := cur.Seek(0, io.SeekCurrent)
			err := syscall.Stat(path, &st2)
			switch {
			case err != nil || st1.Ino != st2.Ino || st1.Dev != st2.Dev:
				cur.Close()
				cur = nil
				continue
			case st1.Size < pos:
				cur.Seek(0, io.SeekStart)
				d.reset()
				continue
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err := w.wait(); err != nil {
			if ctx.Err() != nil {
				// Final pass: emit what the file holds now, then stop.
				if cur != nil {
					return d.readAll(cur)
				}
				return nil
			}
			return fmt.Errorf("follow container log: %w", err)
		}
	}
}
