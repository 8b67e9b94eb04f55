package content

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/errdefs"
)

func newStore(t *testing.T) *Local {
	t.Helper()
	dir := t.TempDir()
	s, err := NewLocal(filepath.Join(dir, "blobs"), filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWriteReadWalkDelete(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := []byte("hello blob")
	want := digest.FromBytes(data)
	d, n, err := WriteBlob(ctx, s, bytes.NewReader(data), want)
	if err != nil || d != want || n != int64(len(data)) {
		t.Fatalf("WriteBlob: %s %d %v", d, n, err)
	}
	ra, err := s.ReaderAt(ctx, ocispec.Descriptor{Digest: want})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := ra.ReadAt(buf, 6); err != nil || string(buf) != "blob" || ra.Size() != int64(len(data)) {
		t.Fatalf("ReadAt: %q size %d err %v", buf, ra.Size(), err)
	}
	ra.Close()
	rc, err := Open(ctx, s, want)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("Open read %q", got)
	}
	var seen []digest.Digest
	if err := s.Walk(ctx, func(i Info) error { seen = append(seen, i.Digest); return nil }); err != nil || len(seen) != 1 || seen[0] != want {
		t.Fatalf("Walk: %v %v", seen, err)
	}
	if err := s.Delete(ctx, want); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Info(ctx, want); !errdefs.IsNotFound(err) {
		t.Fatalf("Info after Delete: %v", err)
	}
	if err := s.Delete(ctx, want); err != nil {
		t.Fatalf("deleting a missing blob: %v", err)
	}
}

func TestCommitRefusesMismatchAndLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	wrong := digest.FromString("something else")
	if _, _, err := WriteBlob(ctx, s, strings.NewReader("data"), wrong); err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("want digest mismatch, got %v", err)
	}
	w, err := s.Writer(ctx, WithExpected(digest.FromString("data"), 99))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "data")
	if err := w.Commit(ctx, 0, ""); err == nil || !strings.Contains(err.Error(), "size mismatch") {
		t.Fatalf("want size mismatch, got %v", err)
	}
	for _, d := range []string{s.dir, s.tmp} {
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Fatalf("%s not empty after failed commits: %v", d, ents)
		}
	}
	if _, err := s.Info(ctx, wrong); !errdefs.IsNotFound(err) {
		t.Fatalf("mismatched blob visible: %v", err)
	}
}

func TestWriterRefIsExclusive(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	w, err := s.Writer(ctx, WithRef("layer-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer(ctx, WithRef("layer-1")); err == nil {
		t.Fatal("second writer for an active ref accepted")
	}
	w.Close()
	w2, err := s.Writer(ctx, WithRef("layer-1"))
	if err != nil {
		t.Fatalf("ref not released by Close: %v", err)
	}
	io.WriteString(w2, "x")
	if err := w2.Commit(ctx, 1, digest.FromString("x")); err != nil {
		t.Fatal(err)
	}
	if w3, err := s.Writer(ctx, WithRef("layer-1")); err != nil {
		t.Fatalf("ref not released by Commit: %v", err)
	} else {
		w3.Close()
	}
}

func TestInvalidDigest(t *testing.T) {
	s := newStore(t)
	for _, d := range []digest.Digest{"", "sha256:abc", "sha512:" + digest.Digest(strings.Repeat("a", 128)), "sha256:../../etc/passwd"} {
		if _, err := s.Info(context.Background(), d); !errdefs.IsInvalid(err) {
			t.Errorf("Info(%q): %v", d, err)
		}
	}
}

// A writer whose source verifies the stream (a registry download) commits
// under that digest only, and refuses a bad one up front.
func TestWriterVerifiedBySource(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	want := digest.FromString("data")
	if _, err := s.Writer(ctx, WithVerified("sha256:../../x")); !errdefs.IsInvalid(err) {
		t.Fatalf("invalid verified digest: %v", err)
	}
	w, err := s.Writer(ctx, WithVerified(want))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "data")
	if w.Digest() != want {
		t.Fatalf("Digest() = %s, want %s", w.Digest(), want)
	}
	if err := w.Commit(ctx, 0, digest.FromString("other")); err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("commit under another digest: %v", err)
	}
	if ents, _ := os.ReadDir(s.tmp); len(ents) != 0 {
		t.Fatalf("ingest left after a refused commit: %v", ents)
	}
	w, _ = s.Writer(ctx, WithVerified(want))
	io.WriteString(w, "data")
	if err := w.Commit(ctx, 4, want); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(ctx, want); err != nil || info.Size != 4 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
}
