package containers

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/trash"
	"golang.org/x/sys/unix"
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

// TestFreshStateDirWaitsForMonitor: while the last run's monitor holds
// the state directory's lock (it deletes the runtime's state after
// reporting the exit), freshStateDir waits for it instead of taking the
// lock file away, which let the next start's runtime create meet that
// delete (runsc: "container already exists").
func TestFreshStateDirWaitsForMonitor(t *testing.T) {
	s := &Service{cfg: Config{ExecRoot: filepath.Join(t.TempDir(), "exec")}}
	dir, err := s.freshStateDir("c2")
	if err != nil {
		t.Fatal(err)
	}
	lock, err := monitor.TakeLock(dir) // the last run's monitor
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	left := filepath.Join(dir, "exit.json")
	if err := os.WriteFile(left, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(lock.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.freshStateDir("c2")
		done <- err
	}()
	for !lockWaiter(t, st.Ino) {
		select {
		case <-done:
			t.Fatal("the state directory was emptied while the last run's monitor held its lock")
		case <-time.After(time.Millisecond): // poll /proc/locks
		}
	}
	if _, err := os.Stat(left); err != nil {
		t.Fatalf("emptied while waiting for the lock: %v", err)
	}
	lock.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("state directory holds %v (%v), want nothing", entries, err)
	}
}

// lockWaiter reports whether a process waits for a flock on inode ino.
func lockWaiter(t *testing.T, ino uint64) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Skip("no /proc/locks:", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 6 && f[1] == "->" && f[2] == "FLOCK" && strings.HasSuffix(f[6], fmt.Sprintf(":%d", ino)) {
			return true
		}
	}
	return false
}

// TestSweepDataDirs: at start, the data-root folder of a container that
// has no record (a create cut short between making its folder and
// committing its record) is deleted; a recorded container's folder and
// names that are not container IDs are left alone.
func TestSweepDataDirs(t *testing.T) {
	root := t.TempDir()
	bin, err := trash.Open(filepath.Join(root, "trash", "containers"), nil)
	if err != nil {
		t.Fatal(err)
	}
	kept, orphan := strings.Repeat("a", 64), strings.Repeat("b", 64)
	s := &Service{
		cfg:     Config{DataRoot: root},
		byID:    map[string]*entry{kept: newEntry(Container{ID: kept})},
		dataBin: bin,
		log:     slog.New(slog.DiscardHandler),
	}
	dirs := filepath.Join(root, "containers")
	for _, name := range []string{kept, orphan, "not-an-id", strings.Repeat("c", 63)} {
		if err := os.MkdirAll(filepath.Join(dirs, name), 0o710); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirs, name, "hosts"), []byte("127.0.0.1 localhost\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.sweepDataDirs()
	bin.Wait()
	ents, err := os.ReadDir(dirs)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	want := []string{kept, strings.Repeat("c", 63), "not-an-id"}
	if fmt.Sprint(left) != fmt.Sprint(want) {
		t.Fatalf("left in containers/: %v, want %v", left, want)
	}
	if ents, err := os.ReadDir(filepath.Join(root, "trash", "containers")); err != nil || len(ents) != 0 {
		t.Fatalf("trash holds %v (%v) after the sweep, want it emptied", ents, err)
	}
}
