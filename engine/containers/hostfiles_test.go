package containers

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteFileInPlace checks a rewrite keeps the file's inode (a
// container bind-mounts it) and leaves exactly the new content, whether it
// is shorter, longer, the same or empty.
func TestWriteFileInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(path, []byte("127.0.0.1\tlocalhost\n10.0.0.2\tabc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inode := func() uint64 {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	ino := inode()
	for _, want := range []string{
		"short\n",
		"a longer content than any before it\nover two lines\n",
		"a longer content than any before it\nover two lines\n",
		"",
		"again\n",
	} {
		if err := writeFileInPlace(path, []byte(want)); err != nil {
			t.Fatalf("write %q: %v", want, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("after writing %q the file holds %q", want, got)
		}
		if inode() != ino {
			t.Fatalf("writing %q replaced the file's inode", want)
		}
	}
	if err := writeFileInPlace(filepath.Join(t.TempDir(), "missing"), []byte("x")); !os.IsNotExist(err) {
		t.Errorf("writing a missing file: err %v, want not exist", err)
	}
}

// TestWriteHostFile checks a host file is made 0644 whatever the umask,
// and replaced whole when it exists.
func TestWriteHostFile(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "hosts")
	for _, want := range []string{"first content, longer\n", "second\n"} {
		if err := writeHostFile(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("file holds %q, want %q", got, want)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("mode %v, want 0644", st.Mode().Perm())
		}
	}
	if err := writeHostFile(filepath.Join(t.TempDir(), "missing", "hosts"), []byte("x")); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
}
