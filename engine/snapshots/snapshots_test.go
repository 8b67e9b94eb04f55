package snapshots

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/types/container"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/errdefs"
)

func TestChainIDs(t *testing.T) {
	a := "sha256:" + "aa"
	b := "sha256:" + "bb"
	got := ChainIDs([]string{a, b})
	// sha256("sha256:aa sha256:bb")
	const want = "sha256:b68ad689d6d1ec110ea1c13617437ad6f3766d4b3b309f6a603a222e07a0164f"
	if len(got) != 2 || got[0] != a || got[1] != want {
		t.Fatalf("ChainIDs = %v", got)
	}
	if other := ChainIDs([]string{b, a}); other[1] == got[1] {
		t.Fatal("order of diff IDs does not change the chain ID")
	}
}

func TestOverlayDirRejectsPaths(t *testing.T) {
	l := Layout{Root: "/r"}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a:b", "a,b"} {
		if _, err := l.OverlayDir(bad); !errdefs.IsInvalid(err) {
			t.Errorf("OverlayDir(%q): %v, want invalid", bad, err)
		}
	}
	if d, err := l.OverlayDir("abc"); err != nil || d != "/r/overlay/abc" {
		t.Fatalf("OverlayDir(abc) = %q, %v", d, err)
	}
	if got := l.LowerDirs(nil); len(got) != 1 || got[0] != "/r/empty" {
		t.Fatalf("LowerDirs(nil) = %v", got)
	}
	if got := l.LowerDirs([]string{"sha256:1", "sha256:2"}); got[0] != "/r/layers/2" || got[1] != "/r/layers/1" {
		t.Fatalf("LowerDirs = %v, want top first", got)
	}
}

func TestRecordsInCallersTx(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{BucketLayers, BucketRootfs} {
			if _, err := tx.CreateBucket([]byte(b)); err != nil {
				return err
			}
		}
		if err := PutLayer(tx, Layer{ChainID: "sha256:1", Size: 7, Blob: &Blob{Digest: "sha256:b"}}); err != nil {
			return err
		}
		if err := PutRootfs(tx, "c1", Rootfs{ImageID: "i1", ChainIDs: []string{"sha256:1"}}); err != nil {
			return err
		}
		// Idempotent: a second prepare keeps the first record.
		return PutRootfs(tx, "c1", Rootfs{ImageID: "other"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		l, ok, err := GetLayer(tx, "sha256:1")
		if err != nil || !ok || l.Size != 7 || l.Blob.Digest != "sha256:b" || !HasLayer(tx, "sha256:1") {
			t.Errorf("GetLayer = %+v, %v, %v", l, ok, err)
		}
		if _, ok, _ := GetLayer(tx, "sha256:2"); ok || HasLayer(tx, "sha256:2") {
			t.Error("unknown layer found")
		}
		r, ok, err := GetRootfs(tx, "c1")
		if err != nil || !ok || r.ImageID != "i1" {
			t.Errorf("GetRootfs = %+v, %v, %v", r, ok, err)
		}
		n := 0
		_ = ForEachLayer(tx, func(string, Layer) error { n++; return nil })
		_ = ForEachRootfs(tx, func(string, Rootfs) error { n++; return nil })
		if n != 2 {
			t.Errorf("ForEach saw %d records, want 2", n)
		}
		if err := DeleteLayer(tx, "sha256:1"); err != nil {
			return err
		}
		if err := DeleteRootfs(tx, "c1"); err != nil {
			return err
		}
		if HasLayer(tx, "sha256:1") {
			t.Error("layer still registered after DeleteLayer")
		}
		if _, ok, _ := GetRootfs(tx, "c1"); ok {
			t.Error("rootfs still recorded after DeleteRootfs")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestChangesAndSize(t *testing.T) {
	root := t.TempDir()
	lower, upper := filepath.Join(root, "lower"), filepath.Join(root, "upper")
	for _, d := range []string{lower + "/etc", upper + "/etc"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(lower+"/etc/passwd", "x")
	write(upper+"/etc/passwd", "changed")
	write(upper+"/new", "abc")
	if err := os.Link(upper+"/new", upper+"/new2"); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(upper+"/gone", unix.S_IFCHR, 0); err != nil {
		t.Skipf("no whiteouts here: %v", err)
	}
	got, err := Changes(context.Background(), upper, []string{lower})
	if err != nil {
		t.Fatal(err)
	}
	want := []container.FilesystemChange{
		{Kind: container.ChangeModify, Path: "/etc"},
		{Kind: container.ChangeModify, Path: "/etc/passwd"},
		{Kind: container.ChangeDelete, Path: "/gone"},
		{Kind: container.ChangeAdd, Path: "/new"},
		{Kind: container.ChangeAdd, Path: "/new2"},
	}
	if len(got) != len(want) {
		t.Fatalf("Changes = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// "changed" (7) + "abc" once despite the hard link (3).
	if n := DirSize(upper); n != 10 {
		t.Fatalf("DirSize = %d, want 10", n)
	}
}

func TestCreateRWIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c1")
	for i := 0; i < 2; i++ {
		if err := CreateRW(dir); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"upper", "work", "merged"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	// The init layer is the store's, not the container's own.
	if _, err := os.Lstat(filepath.Join(dir, "init")); !os.IsNotExist(err) {
		t.Errorf("CreateRW made an init layer of its own: %v", err)
	}
	if _, err := MountRW(filepath.Join(t.TempDir(), "c2"), nil); err == nil {
		t.Fatal("MountRW of an unprepared layer succeeded")
	}
}

// The store makes the shared init layer (mount points and the files
// bind-mounted over /etc); a layer made by an older berthd keeps its own
// init layer, a new one gets the shared one; a shared layer cut short by a
// crash is made again at the next start.
func TestSharedInitLayer(t *testing.T) {
	st := newTestStore(t)
	l := st.layout
	for _, p := range []string{"proc", "sys", "dev/pts", "dev/shm", "etc/hosts", "etc/hostname", "etc/resolv.conf", "dev/console", ".dockerenv"} {
		if _, err := os.Lstat(filepath.Join(l.InitDir(), p)); err != nil {
			t.Errorf("shared init layer: %s: %v", p, err)
		}
	}
	dir, _ := l.OverlayDir("c1")
	if err := CreateRW(dir); err != nil {
		t.Fatal(err)
	}
	if got := l.RWLowers(dir, nil); len(got) != 2 || got[0] != l.InitDir() || got[1] != filepath.Join(l.Root, "empty") {
		t.Fatalf("RWLowers of a new layer = %v", got)
	}
	old, _ := l.OverlayDir("c0")
	if err := CreateRW(old); err != nil {
		t.Fatal(err)
	}
	if err := makeInitLayer(filepath.Join(old, "init")); err != nil {
		t.Fatal(err)
	}
	if got := l.RWLowers(old, []string{"sha256:1"}); len(got) != 2 || got[0] != filepath.Join(old, "init") || got[1] != filepath.Join(l.Root, "layers", "1") {
		t.Fatalf("RWLowers of a layer with its own init layer = %v", got)
	}
	// Cut short: the marker missing, a directory gone.
	os.Remove(l.InitDir() + ".complete")
	os.RemoveAll(filepath.Join(l.InitDir(), "dev"))
	if _, err := NewStore(StoreOptions{Root: l.Root, DB: st.db}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(l.InitDir(), "dev/pts")); err != nil {
		t.Fatalf("init layer not made again: %v", err)
	}
}
