package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenCompactsAfterBigDeletes: bbolt keeps a file's size after records
// are deleted (a 13 MiB Cmd left a 244 MB file behind for good); Open must
// give the space back once free pages dominate, and keep every live record.
func TestOpenCompactsAfterBigDeletes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.db")
	db, err := Open(path, "containers")
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1<<20)
	for i := 0; i < 24; i++ {
		if err := db.Put("containers", fmt.Sprintf("big%02d", i), big); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Put("containers", "keep", map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 24; i++ {
		if err := db.Delete("containers", fmt.Sprintf("big%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	before := size(t, path)
	if before < 20<<20 {
		t.Fatalf("setup: file is %d bytes, expected bbolt to keep the deleted records' pages", before)
	}
	db, err = Open(path, "containers")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	after := size(t, path)
	if after > before/4 {
		t.Errorf("file is %d bytes after reopening (was %d): not compacted", after, before)
	}
	var got map[string]string
	if err := db.Get("containers", "keep", &got); err != nil || got["a"] != "b" {
		t.Errorf("live record after compaction: %v, %v", got, err)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	// Still writable.
	if err := db.Put("containers", "new", 1); err != nil {
		t.Fatal(err)
	}
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
