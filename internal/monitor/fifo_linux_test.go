package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReleaseFifo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exec.fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// No reader, as when the init is gone: an error, not a hang.
	if err := ReleaseFifo(path); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("ReleaseFifo without a reader: %v, want not running", err)
	}
	// The init's side, as crun opens it.
	r, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := ReleaseFifo(path); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2)
	if n, err := r.Read(b); n != 1 || err != nil {
		t.Errorf("the waiting side read %d bytes (%v), want 1", n, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("fifo still there after the release (%v): the runtime would call the container created", err)
	}
}
