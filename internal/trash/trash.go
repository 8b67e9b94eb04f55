// Package trash deletes folder trees in the background. What is to go is
// first renamed into the bin's folder, one atomic step after which it is
// gone from its old place as a whole; a goroutine then deletes the bin's
// entries. A crash half-way leaves entries in the bin that the next Open
// (at the next start of the daemon) deletes. Deleting gigabytes this way
// never delays a caller, berthd's start-up included.
//
// Only what was renamed into the bin is ever deleted: a caller moves a
// thing there only once nothing references it.
package trash

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/berth-dev/berth/internal/lowprio"
	"github.com/berth-dev/berth/internal/stringid"
)

// Bin is a trash folder and its deleter. It is safe for concurrent use.
type Bin struct {
	dir  string
	log  *slog.Logger
	kick chan struct{}

	mu   sync.Mutex
	idle *sync.Cond
	busy bool
	// holds counts the Holds outstanding: no deletion starts meanwhile.
	holds   int
	resumed *sync.Cond
}

// Open makes (if needed) the bin folder dir, which must be on the file
// system of everything later put in it, and starts deleting what it holds.
func Open(dir string, log *slog.Logger) (*Bin, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("trash folder: %w", err)
	}
	b := &Bin{dir: dir, log: log, kick: make(chan struct{}, 1), busy: true}
	b.idle = sync.NewCond(&b.mu)
	b.resumed = sync.NewCond(&b.mu)
	go b.run()
	return b, nil
}

// Dir is the bin's folder.
func (b *Bin) Dir() string { return b.dir }

// Put moves p into the bin (a missing p is not an error) and has it
// deleted in the background.
func (b *Bin) Put(p string) error {
	if err := os.Rename(p, filepath.Join(b.dir, stringid.New())); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	b.mu.Lock()
	b.busy = true
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
	return nil
}

// Hold keeps the bin from starting to delete until release is called
// (deletions under way go on). A caller puts things in the bin and then
// commits to a database on the same file system: on a file system mounted
// with `discard` (this machine's root) the commit's flush also waits for
// the discard of every block freed since the last one, the bin's
// deletions included; held, they come after, in a journal commit of
// their own (see empty).
func (b *Bin) Hold() (release func()) {
	b.mu.Lock()
	b.holds++
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.holds--
			if b.holds == 0 {
				b.resumed.Broadcast()
			}
			b.mu.Unlock()
		})
	}
}

// Wait blocks until the bin has deleted everything put in it so far (what
// it cannot delete is logged and left for the next start).
func (b *Bin) Wait() {
	b.mu.Lock()
	for b.busy {
		b.idle.Wait()
	}
	b.mu.Unlock()
}

func (b *Bin) run() {
	for {
		b.mu.Lock()
		b.busy = true
		for b.holds > 0 {
			b.resumed.Wait()
		}
		b.mu.Unlock()
		// Let what is runnable go first: a removal's release wakes the
		// bins right after its waiters (wait(removed), the API reply),
		// and on 2 CPUs two bins deleting would keep them from running
		// for milliseconds (the thread's niceness does not give up the
		// Go scheduler's P).
		runtime.Gosched()
		lowprio.Do(b.empty)
		b.mu.Lock()
		select {
		case <-b.kick:
			b.mu.Unlock()
			continue // put while emptying: go again
		default:
		}
		b.busy = false
		b.idle.Broadcast()
		b.mu.Unlock()
		<-b.kick
	}
}

// empty deletes the bin's entries, then flushes the bin's folder: that
// commits the file system's journal with the frees now, in the background,
// rather than in the next caller's flush (see Hold).
func (b *Bin) empty() {
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		b.log.Warn("read trash folder", "dir", b.dir, "err", err)
		return
	}
	for _, e := range ents {
		p := filepath.Join(b.dir, e.Name())
		if err := os.RemoveAll(p); err != nil {
			// Busy or immutable entries: the next start retries.
			b.log.Warn("delete trash", "path", p, "err", err)
		}
	}
	if len(ents) == 0 {
		return
	}
	if d, err := os.Open(b.dir); err == nil {
		d.Sync()
		d.Close()
	}
}
