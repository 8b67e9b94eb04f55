package snapshots

import (
	"errors"
	"fmt"
	"sync"

	"github.com/berth-dev/berth/internal/lowprio"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// When the last reference to an overlay goes, the kernel syncs the whole
// file system of its upper directory (ovl_sync_fs from the superblock's
// shutdown): tens to hundreds of milliseconds on a busy disk, in the
// umount2 call itself, even with MNT_DETACH. A container's stop, kill and
// rm -f waited for it. Detach takes the mount out of the namespace at once
// while holding a reference of its own (an O_PATH descriptor), so that the
// superblock ends, and the sync runs, when that reference is closed: by a
// background goroutine, or by the next MountRW or Detach of the same
// target, which settle it first so that two overlays never share an upper
// directory. Nothing leaks: the mount is gone from mountinfo when Detach
// returns, and if berthd dies first, the kernel closes the descriptor.

// detached is the reference kept on one detached overlay.
type detached struct {
	fds   []int
	taken bool // someone is closing fds; wait on done
	done  chan struct{}
}

var releases struct {
	mu      sync.Mutex
	pending map[string]*detached // by target
	queue   []string
	running bool
}

// Detach unmounts every mount stacked on target (not mounted is fine) and
// leaves the end of their superblocks to the background (see above).
func Detach(target string) error {
	if ok, err := mountinfo.Mounted(target); err != nil || !ok {
		return nil // an overlay detached before still ends in the background
	}
	// Mounted again, by MountRW (which settled the last one) or by hand.
	Settle(target)
	d := &detached{done: make(chan struct{})}
	var err error
	for i := 0; i < 16; i++ {
		if ok, merr := mountinfo.Mounted(target); merr != nil || !ok {
			break
		}
		fd, oerr := unix.Open(target, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if oerr == nil {
			d.fds = append(d.fds, fd)
		}
		if uerr := unix.Unmount(target, unix.MNT_DETACH); uerr != nil && !errors.Is(uerr, unix.EINVAL) && !errors.Is(uerr, unix.ENOENT) {
			err = fmt.Errorf("unmount %s: %w", target, uerr)
			break
		}
	}
	if len(d.fds) == 0 {
		return err
	}
	r := &releases
	r.mu.Lock()
	if r.pending == nil {
		r.pending = map[string]*detached{}
	}
	r.pending[target] = d
	r.queue = append(r.queue, target)
	if !r.running {
		r.running = true
		go lowprio.Do(releaseQueued)
	}
	r.mu.Unlock()
	return err
}

// Settle ends the overlay last detached from target, if it is still
// pending, and returns once it has ended (its upper file system synced).
func Settle(target string) {
	r := &releases
	r.mu.Lock()
	d := r.pending[target]
	if d == nil {
		r.mu.Unlock()
		return
	}
	if d.taken {
		r.mu.Unlock()
		<-d.done
		return
	}
	d.taken = true
	r.mu.Unlock()
	d.release(target)
}

// settleAll ends every pending overlay (for tests).
func settleAll() {
	r := &releases
	r.mu.Lock()
	targets := make([]string, 0, len(r.pending))
	for t := range r.pending {
		targets = append(targets, t)
	}
	r.mu.Unlock()
	for _, t := range targets {
		Settle(t)
	}
}

// release closes d's references; the caller set d.taken.
func (d *detached) release(target string) {
	for _, fd := range d.fds {
		unix.Close(fd)
	}
	r := &releases
	r.mu.Lock()
	if r.pending[target] == d {
		delete(r.pending, target)
	}
	r.mu.Unlock()
	close(d.done)
}

// releaseQueued ends the queued overlays one at a time (one goroutine, so
// that a burst of removals does not become one blocked thread each), and
// returns when the queue is empty.
func releaseQueued() {
	r := &releases
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.queue = nil
			r.running = false
			r.mu.Unlock()
			return
		}
		target := r.queue[0]
		r.queue = r.queue[1:]
		d := r.pending[target]
		if d == nil || d.taken {
			r.mu.Unlock()
			continue
		}
		d.taken = true
		r.mu.Unlock()
		d.release(target)
	}
}
