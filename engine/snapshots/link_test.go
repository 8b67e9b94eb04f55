package snapshots

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/images/archive"
)

func inodeOf(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// unpackedElsewhere is a layer as a RUN step's overlay upper directory
// holds it: a file, a symlink, an opaque directory that also carries
// overlay's bookkeeping of the upper directory.
func unpackedElsewhere(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("overlay xattrs need root")
	}
	src := t.TempDir()
	sub := filepath.Join(src, "sub")
	if err := os.Mkdir(sub, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "f"), []byte("data"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/f", filepath.Join(src, "l")); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"trusted.overlay.opaque": "y", "trusted.overlay.impure": "y", "user.k": "v"} {
		if err := unix.Lsetxattr(sub, k, []byte(v), 0); err != nil {
			t.Skipf("xattrs: %v", err)
		}
	}
	return src
}

// A layer unpacked elsewhere becomes a layer of the store by hard links:
// the same inodes, directories recreated with their mode and meaningful
// xattrs (overlay's bookkeeping left out), the blob named as the
// layer's and held until released.
func TestLinkBlob(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	src := unpackedElsewhere(t)
	scratch := t.TempDir()
	rec, err := st.ExtractLayer(scratch, bytes.NewReader(layerTar(t, "sub/f", "data")), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.ReleaseBlob(rec.Blob.Digest)
	var linked Layer
	if _, err := st.EnsureLayer(ctx, rec.DiffID, func(dir string) (Layer, error) {
		linked, err = st.LinkBlob(ctx, dir, src, *rec.Blob, rec.DiffID)
		return linked, err
	}); err != nil {
		t.Fatal(err)
	}
	defer st.ReleaseLayers([]string{rec.DiffID})
	dir := st.Layout().LayerDir(rec.DiffID)
	for _, p := range []string{"sub/f", "l"} {
		if inodeOf(t, filepath.Join(src, p)) != inodeOf(t, filepath.Join(dir, p)) {
			t.Errorf("%s is not linked", p)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "sub")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("sub: %v %v", fi, err)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(dir, "sub"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("opaque marker: %q %v", buf[:n], err)
	}
	if n, err := unix.Lgetxattr(filepath.Join(dir, "sub"), "user.k", buf); err != nil || string(buf[:n]) != "v" {
		t.Errorf("user xattr: %q %v", buf[:n], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(dir, "sub"), "trusted.overlay.impure", buf); err == nil {
		t.Error("overlay's bookkeeping of the upper directory was copied")
	}
	if linked.DiffID != rec.DiffID || linked.Size != 4 || linked.Blob.Digest != rec.Blob.Digest || linked.TarSize != rec.Blob.Size {
		t.Fatalf("record %+v, want diff %s, size 4, blob %+v", linked, rec.DiffID, rec.Blob)
	}
	st.mu.Lock()
	holds := st.blobHolds[rec.Blob.Digest]
	st.mu.Unlock()
	if holds != 2 {
		t.Fatalf("blob holds %d, want 2 (extract, link)", holds)
	}
	st.ReleaseBlob(rec.Blob.Digest)
}

// A directory that redirects into the layers below cannot be linked; nor
// can a blob the store lacks: the target is left empty, nothing is held.
func TestLinkBlobRefuses(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	src := unpackedElsewhere(t)
	scratch := t.TempDir()
	rec, err := st.ExtractLayer(scratch, bytes.NewReader(layerTar(t, "a", "x")), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.ReleaseBlob(rec.Blob.Digest)
	if err := unix.Lsetxattr(filepath.Join(src, "sub"), "trusted.overlay.redirect", []byte("/old"), 0); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := st.LinkBlob(ctx, dir, src, *rec.Blob, rec.DiffID); !errors.Is(err, ErrNotLinkable) {
		t.Fatalf("redirecting directory: %v, want ErrNotLinkable", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
	missing := *rec.Blob
	missing.Digest = "sha256:" + string(bytes.Repeat([]byte("0"), 64))
	if _, err := st.LinkBlob(ctx, dir, t.TempDir(), missing, rec.DiffID); err == nil {
		t.Fatal("a blob the store lacks was accepted")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.blobHolds) != 0 {
		t.Fatalf("holds left: %v", st.blobHolds)
	}
}
