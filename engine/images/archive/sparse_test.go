package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	hostile "github.com/berth-dev/berth/tests/security/archive"
)

// A sparse entry is a few bytes in the stream and its full logical size on
// disk: the cap counts the logical size and refuses before writing.
func TestExtractSparseBombRefused(t *testing.T) {
	for name, data := range map[string][]byte{
		"pax": hostile.SparsePAX("bomb", 64<<20),
		"gnu": hostile.SparseGNU("bomb", 64<<20),
	} {
		dir := t.TempDir()
		_, err := Extract(bytes.NewReader(data), dir, Options{MaxSize: 1 << 20})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", name, err)
		}
		if fi, err := os.Stat(filepath.Join(dir, "bomb")); err == nil {
			t.Errorf("%s: bomb written anyway (%d bytes)", name, fi.Size())
		}
	}
	// With the default cap, 1 TiB is refused without writing a byte.
	dir := t.TempDir()
	if _, err := Extract(bytes.NewReader(hostile.SparsePAX("bomb", 1<<40)), dir, Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("1 TiB sparse: %v, want ErrTooLarge", err)
	}
	// Under the cap, a sparse file extracts to its logical content.
	dir = t.TempDir()
	if _, err := Extract(bytes.NewReader(hostile.SparsePAX("small", 1<<20)), dir, Options{MaxSize: 4 << 20}); err != nil {
		t.Fatalf("small sparse: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "small"))
	if err != nil || len(b) != 1<<20 || b[0] != 0 || b[len(b)-1] != 'S' {
		t.Errorf("small sparse: %d bytes, %v", len(b), err)
	}
}
