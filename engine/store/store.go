package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned by Get when the key is absent.
var ErrNotFound = errors.New("not found")

// DB is the metadata database.
type DB struct {
	bolt  *bolt.DB
	group groupCommit
}

// Open opens (creating if needed) the database file at path and makes sure
// the named buckets exist.
//
// bbolt never gives pages back to the file system: once big records were
// deleted the file keeps its size. Open therefore rewrites the file when
// free pages make up most of it (see compactIfSparse).
func Open(path string, buckets ...string) (*DB, error) {
	b, err := openBolt(path)
	if err != nil {
		return nil, err
	}
	if b, err = compactIfSparse(b, path); err != nil {
		return nil, err
	}
	db := &DB{bolt: b}
	if err := db.EnsureBuckets(buckets...); err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

func openBolt(path string) (*bolt.DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("metadata database %s is locked: is another berthd running on this data-root?", path)
		}
		return nil, fmt.Errorf("open metadata database %s: %w", path, err)
	}
	return b, nil
}

// Compaction thresholds: files smaller than compactMinSize are left alone
// (rewriting them gains nothing), larger ones are rewritten when at least
// compactFreeRatio of their pages are free.
var (
	compactMinSize   int64 = 4 << 20
	compactFreeRatio       = 0.5
)

// compactIfSparse copies the live records of b into a fresh file and renames
// it over path when free pages dominate. The rename is atomic: a crash
// leaves either the old file or the new one (a stray .compact file is
// removed on the next call). On any error the original database stays open
// and in use.
func compactIfSparse(b *bolt.DB, path string) (*bolt.DB, error) {
	tmp := path + ".compact"
	os.Remove(tmp)
	fi, err := os.Stat(path)
	if err != nil || fi.Size() < compactMinSize {
		return b, nil
	}
	free := int64(b.Stats().FreePageN+b.Stats().PendingPageN) * int64(b.Info().PageSize)
	if float64(free) < compactFreeRatio*float64(fi.Size()) {
		return b, nil
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return b, nil
	}
	if err := bolt.Compact(dst, b, 64<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return b, nil
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		os.Remove(tmp)
		return b, nil
	}
	dst.Close()
	// Keep the lock on the old file until the new one is in place.
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return b, nil
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	b.Close()
	return openBolt(path)
}

// EnsureBuckets creates the named buckets if they do not exist.
func (db *DB) EnsureBuckets(buckets ...string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close closes the database.
func (db *DB) Close() error { return db.bolt.Close() }

// Bolt exposes the underlying database for services that need several
// buckets in one transaction.
func (db *DB) Bolt() *bolt.DB { return db.bolt }

// Update runs fn in a write transaction, durably once it returns; the
// transaction is shared with concurrent writers' (see groupCommit), so fn
// must be safe to run more than once.
func (db *DB) Update(fn func(*bolt.Tx) error) error { return db.update(fn) }

// Op is one change to the database, made in a caller's transaction: a
// service hands it to another so that both services' records change in
// one commit (a container's record with its writable layer's).
type Op func(*bolt.Tx) error

// PutOp is the change that stores v as JSON under key in bucket.
func PutOp(bucket, key string, v any) (Op, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).Put([]byte(key), data)
	}, nil
}

// All is the changes ops made in order, in one transaction; nil ones are
// skipped.
func All(ops ...Op) Op {
	return func(tx *bolt.Tx) error {
		for _, op := range ops {
			if op == nil {
				continue
			}
			if err := op(tx); err != nil {
				return err
			}
		}
		return nil
	}
}

// DeleteOp is the change that removes key from bucket (missing is fine).
func DeleteOp(bucket, key string) Op {
	return func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).Delete([]byte(key))
	}
}

// Put stores v as JSON under key in bucket, durably once it returns (in a
// transaction shared with concurrent writers: see groupCommit).
func (db *DB) Put(bucket, key string, v any) error {
	op, err := PutOp(bucket, key, v)
	if err != nil {
		return err
	}
	return db.update(op)
}

// Get decodes the JSON value under key into v, or returns ErrNotFound.
func (db *DB) Get(bucket, key string, v any) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		data := tx.Bucket([]byte(bucket)).Get([]byte(key))
		if data == nil {
			return ErrNotFound
		}
		return json.Unmarshal(data, v)
	})
}

// Delete removes key from bucket; a missing key is not an error.
func (db *DB) Delete(bucket, key string) error {
	return db.update(DeleteOp(bucket, key))
}

// ForEach calls fn with every key and raw JSON value of bucket.
func (db *DB) ForEach(bucket string, fn func(key string, value []byte) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).ForEach(func(k, v []byte) error {
			return fn(string(k), v)
		})
	})
}
