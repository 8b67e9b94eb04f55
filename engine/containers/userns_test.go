package containers

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestGrantSearch: folders under the root that others cannot search are
// given to the remapped root's group with g+x; the root itself, folders
// others can search and folders outside are left alone.
func TestGrantSearch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown)")
	}
	root := t.TempDir()
	closed := filepath.Join(root, "a")
	open := filepath.Join(closed, "b")
	leaf := filepath.Join(open, "c")
	os.MkdirAll(leaf, 0o700)
	os.Chmod(open, 0o711)
	os.Chmod(root, 0o700)
	if err := grantSearch(root, leaf, 123456); err != nil {
		t.Fatal(err)
	}
	check := func(p string, mode os.FileMode, gid uint32) {
		t.Helper()
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode || st.Sys().(*syscall.Stat_t).Gid != gid {
			t.Errorf("%s: mode %o gid %d, want %o %d", p, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Gid, mode, gid)
		}
	}
	check(leaf, 0o710, 123456)
	check(open, 0o711, 0)
	check(closed, 0o710, 123456)
	check(root, 0o700, 0)
	// A folder of another group is not taken over: an error says why.
	other := filepath.Join(root, "x", "y")
	os.MkdirAll(other, 0o700)
	os.Chown(filepath.Join(root, "x"), -1, 4242)
	if err := grantSearch(root, other, 123456); err == nil {
		t.Errorf("grantSearch through a folder of group 4242: no error")
	}
}
