package store

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit coalesces concurrent single-record writes into shared
// transactions. bbolt commits one writer at a time, each commit two
// fdatasyncs; when many containers are removed or started at once, their
// writes queued behind one another. Here a writer that finds no commit in
// progress commits at once (a lone write waits for nothing, unlike
// bbolt's Batch, which waits for a timer); writers that arrive while a
// commit is in progress queue, and the next commit takes them all.
type groupCommit struct {
	mu      sync.Mutex
	pending []*groupWrite
	running bool
}

type groupWrite struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// update runs fn in a write transaction, shared with other callers' when
// they overlap; it returns once that transaction is durable. fn must be
// safe to run more than once (a shared transaction that fails is retried
// one write at a time), as for bbolt's Batch.
func (db *DB) update(fn func(*bolt.Tx) error) error {
	w := &groupWrite{fn: fn, done: make(chan error, 1)}
	g := &db.group
	g.mu.Lock()
	g.pending = append(g.pending, w)
	if !g.running {
		g.running = true
		g.mu.Unlock()
		db.commitPending()
	} else {
		g.mu.Unlock()
	}
	return <-w.done
}

// commitPending commits what is queued, once; whatever queued meanwhile is
// committed by another goroutine, so that this caller returns as soon as
// its own write is durable.
func (db *DB) commitPending() {
	g := &db.group
	g.mu.Lock()
	batch := g.pending
	g.pending = nil
	g.mu.Unlock()

	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, w := range batch {
			if err := w.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		// One write failed and took the others down: each on its own.
		for _, w := range batch {
			w.done <- db.bolt.Update(w.fn)
		}
	} else {
		for _, w := range batch {
			w.done <- err
		}
	}

	g.mu.Lock()
	if len(g.pending) == 0 {
		g.running = false
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	go db.commitPending()
}
