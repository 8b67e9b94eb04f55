package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestGroupCommitConcurrentWrites: many writers at once (rm -f of many
// containers) each see their own write durable and right, across a
// reopen, and a write of one writer never undoes another's.
func TestGroupCommitConcurrentWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.db")
	db, err := Open(path, "c")
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%02d", i)
			if err := db.Put("c", key, i); err != nil {
				errs[i] = err
				return
			}
			if i%2 == 0 { // the even ones go again
				errs[i] = db.Delete("c", key)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path, "c"); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		var v int
		err := db.Get("c", fmt.Sprintf("k%02d", i), &v)
		switch {
		case i%2 == 0 && !errors.Is(err, ErrNotFound):
			t.Errorf("k%02d: deleted, but Get gives %v (%d)", i, err, v)
		case i%2 == 1 && (err != nil || v != i):
			t.Errorf("k%02d: Get gives %v (%d), want %d", i, err, v, i)
		}
	}
}

// TestGroupCommitFailureIsolated: a failing write in a shared transaction
// fails alone; the others in the same transaction are committed.
func TestGroupCommitFailureIsolated(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "berth.db"), "c")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	boom := errors.New("boom")
	// Queue the writes behind a commit in progress so they share one.
	db.group.mu.Lock()
	db.group.running = true
	db.group.mu.Unlock()
	const n = 5
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.update(func(tx *bolt.Tx) error {
				if i == 2 {
					tx.Bucket([]byte("c")).Put([]byte("bad"), []byte("1"))
					return boom
				}
				return tx.Bucket([]byte("c")).Put([]byte(fmt.Sprintf("k%d", i)), []byte("1"))
			})
		}()
	}
	for deadline := time.Now().Add(time.Minute); ; runtime.Gosched() { // until all five are queued
		db.group.mu.Lock()
		q := len(db.group.pending)
		db.group.mu.Unlock()
		if q == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", q, n)
		}
	}
	db.commitPending()
	wg.Wait()
	for i, err := range errs {
		if (i == 2) != errors.Is(err, boom) {
			t.Errorf("write %d: err %v", i, err)
		}
	}
	db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("c"))
		for i := range n {
			if got := b.Get([]byte(fmt.Sprintf("k%d", i))) != nil; got != (i != 2) {
				t.Errorf("k%d present: %v", i, got)
			}
		}
		if b.Get([]byte("bad")) != nil {
			t.Error("the failed write's partial change was committed")
		}
		return nil
	})
}
