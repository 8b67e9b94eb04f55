package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned by Get when the key is absent.
var ErrNotFound = errors.New("not found")

// DB is the metadata database.
type DB struct {
	bolt *bolt.DB
}

// Open opens (creating if needed) the database file at path and makes sure
// the named buckets exist.
func Open(path string, buckets ...string) (*DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("metadata database %s is locked: is another berthd running on this data-root?", path)
		}
		return nil, fmt.Errorf("open metadata database %s: %w", path, err)
	}
	db := &DB{bolt: b}
	if err := db.EnsureBuckets(buckets...); err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
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

// Put stores v as JSON under key in bucket, in its own transaction.
func (db *DB) Put(bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).Put([]byte(key), data)
	})
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
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).Delete([]byte(key))
	})
}

// ForEach calls fn with every key and raw JSON value of bucket.
func (db *DB) ForEach(bucket string, fn func(key string, value []byte) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).ForEach(func(k, v []byte) error {
			return fn(string(k), v)
		})
	})
}
