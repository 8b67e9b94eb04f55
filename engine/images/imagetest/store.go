package imagetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/store"
)

// DB opens a metadata DB in a fresh temp dir (closed at the end of the
// test) and returns it with the dir, where the test puts its image root.
func DB(t testing.TB) (*store.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

// BlobUsage sums the blobs of a content store: bytes and count.
func BlobUsage(t testing.TB, blobs content.Manager) (n int64, count int) {
	t.Helper()
	err := blobs.Walk(context.Background(), func(i content.Info) error {
		n += i.Size
		count++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, count
}
