package volumes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/volume"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/protected"
)

// A name of 240-255 bytes used to make a trash name past the 255-byte file
// name limit: the volume could be created but never removed.
func TestLongNameRemovable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, db := open(t, dir)
	defer db.Close()
	for _, n := range []int{240, 250, 255} {
		name := "v" + strings.Repeat("x", n-1)
		if _, err := s.Create(ctx, volume.CreateRequest{Name: name}); err != nil {
			t.Fatalf("create %d-byte name: %v", n, err)
		}
		if err := s.Remove(ctx, name, false); err != nil {
			t.Fatalf("remove %d-byte name: %v", n, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "volumes", name)); !os.IsNotExist(err) {
			t.Errorf("%d-byte name: folder still there (%v)", n, err)
		}
	}
	_, err := s.Create(ctx, volume.CreateRequest{Name: strings.Repeat("y", 256)})
	if !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), "too long") {
		t.Errorf("create 256-byte name: %v, want an invalid-argument error saying too long", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "volumes"))
	if len(entries) != 0 {
		t.Errorf("left in volumes/: %v", entries)
	}
}

// The engine's own folders cannot be reached through a device volume, as
// they cannot through a bind mount: at create, and at mount time with
// symlinks resolved.
func TestDeviceVolumeProtectedPaths(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, db := open(t, dir)
	defer db.Close()
	protected.Set(dir)
	defer protected.Set()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []map[string]string{
		{"type": "none", "o": "bind", "device": dir},
		{"type": "none", "o": "rbind,ro", "device": dir + "/volumes"},
		{"type": "none", "o": "bind", "device": link},
		{"type": "overlay", "device": "overlay", "o": "lowerdir=/usr:" + dir + ",upperdir=/tmp/u,workdir=/tmp/w"},
	} {
		_, err := s.Create(ctx, volume.CreateRequest{Name: "bad", DriverOpts: opts})
		if !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), "engine's own folder") {
			t.Errorf("create with %v: %v, want refused as the engine's own folder", opts, err)
		}
	}
	// Created while pointing elsewhere, then the link is turned to the
	// data root: mounting is refused.
	other := t.TempDir()
	swap := filepath.Join(t.TempDir(), "swap")
	if err := os.Symlink(other, swap); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, volume.CreateRequest{Name: "swapped", DriverOpts: map[string]string{"type": "none", "o": "bind", "device": swap}}); err != nil {
		t.Fatal(err)
	}
	os.Remove(swap)
	if err := os.Symlink(dir, swap); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mountpoint(ctx, "swapped"); err == nil || !strings.Contains(err.Error(), "engine's own folder") {
		s.Release(ctx, "swapped")
		t.Errorf("mount of a device now pointing at the data root: %v, want refused", err)
	}
	// A parent of the data root stays allowed, as for binds.
	if _, err := s.Create(ctx, volume.CreateRequest{Name: "parent", DriverOpts: map[string]string{"type": "none", "o": "bind", "device": filepath.Dir(dir)}}); err != nil {
		t.Errorf("device volume on a parent of the data root: %v", err)
	}
}
