package trash

import (
	"os"
	"path/filepath"
	"testing"
)

// TestHoldDefersDeletion: what is put in a held bin stays there until the
// hold is released, then goes; Wait returns once it is gone.
func TestHoldDefersDeletion(t *testing.T) {
	root := t.TempDir()
	b, err := Open(filepath.Join(root, "bin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Wait() // the start-up sweep of an empty bin
	release := b.Hold()
	victim := filepath.Join(root, "victim")
	if err := os.MkdirAll(filepath.Join(victim, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(victim, "sub", "f"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(victim); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(victim); !os.IsNotExist(err) {
		t.Fatalf("put left the folder in place: %v", err)
	}
	ents, err := os.ReadDir(b.Dir())
	if err != nil || len(ents) != 1 {
		t.Fatalf("held bin holds %d entries (%v), want 1", len(ents), err)
	}
	release()
	release() // a second call is harmless
	b.Wait()
	if ents, err := os.ReadDir(b.Dir()); err != nil || len(ents) != 0 {
		t.Fatalf("bin holds %d entries after the release (%v)", len(ents), err)
	}
}
