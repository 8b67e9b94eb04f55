package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// CgroupPathDirs lists the unified directory then one per directory of
// /sys/fs/cgroup, the same when asked again (from its cache).
func TestCgroupPathDirs(t *testing.T) {
	entries, err := os.ReadDir(cgroupFS)
	if err != nil {
		t.Skip(err)
	}
	want := []string{filepath.Join(cgroupFS, "/berth/x")}
	for _, e := range entries {
		if e.IsDir() {
			want = append(want, filepath.Join(cgroupFS, e.Name(), "/berth/x"))
		}
	}
	for range 2 {
		got := CgroupPathDirs("/berth/x")
		if !slices.Equal(got, want) {
			t.Fatalf("CgroupPathDirs = %v, want %v", got, want)
		}
		got[0] = "changed"
	}
}
