package containers

import (
	"os"
	"path/filepath"
	"testing"
)

// freshStateDir leaves an empty state directory whatever was there: none
// (its parent missing too), or an earlier run's files and directories.
func TestFreshStateDir(t *testing.T) {
	s := &Service{cfg: Config{ExecRoot: filepath.Join(t.TempDir(), "exec")}}
	dir, err := s.freshStateDir("c1")
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(s.cfg.ExecRoot, "containers", "c1") {
		t.Fatalf("state directory %s", dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "exit.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		again, err := s.freshStateDir("c1")
		if err != nil || again != dir {
			t.Fatalf("second call: %s, %v", again, err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 0 {
			t.Fatalf("state directory holds %v (%v), want nothing", entries, err)
		}
		if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("state directory mode: %v, %v", st, err)
		}
	}
}
