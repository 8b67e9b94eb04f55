package imagearchive

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/imagetest"
	hostile "github.com/berth-dev/berth/tests/security/archive"
)

// testServices is the local image store with the archive formats over it.
type testServices struct {
	*images.Service
	*archiver
}

type archiver = Service

func newTestService(t *testing.T) *testServices {
	t.Helper()
	db, dir := imagetest.DB(t)
	imgs, err := images.New(filepath.Join(dir, "image"), db, images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &testServices{imgs, New(imgs, imgs.LayerStore())}
}

// A gzip layer imported is kept as received, not also as its uncompressed
// tar: a 16 MiB bomb of zeros costs its ~16 KiB in the blob store (the
// extracted file is the one full copy, as with Docker), and save still
// produces the uncompressed layer with the right diff ID.
func TestImportGzipKeepsOneBlob(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	bomb := hostile.GzipBomb("zeros", 16<<20)
	img, err := s.Import(ctx, bytes.NewReader(bomb), ImportOptions{Ref: "bomb"})
	if err != nil {
		t.Fatal(err)
	}
	n, count := imagetest.BlobUsage(t, s.Content())
	if count != 1 || n != int64(len(bomb)) {
		t.Errorf("blob store holds %d blobs, %d bytes; want only the %d-byte compressed layer", count, n, len(bomb))
	}
	if fi, err := os.Stat(filepath.Join(s.LayerDirs(img)[0], "zeros")); err != nil || fi.Size() != 16<<20 {
		t.Fatalf("extracted file: %v", err)
	}
	var buf bytes.Buffer
	if err := s.Save(ctx, []string{"bomb"}, &buf); err != nil {
		t.Fatalf("save: %v", err)
	}
	// Loading the saved archive elsewhere gives the same image.
	s2 := newTestService(t)
	if err := s2.Load(ctx, &buf, nil); err != nil {
		t.Fatalf("load: %v", err)
	}
	got, err := s2.Resolve(ctx, "bomb")
	if err != nil || got.ID != img.ID {
		t.Fatalf("loaded %v %v, want %s", got, err, img.ID)
	}
	// Importing the same tar uncompressed reuses the layer and leaves no
	// second blob behind.
	zr, _, _ := decompressAll(t, bomb)
	if _, err := s.Import(ctx, bytes.NewReader(zr), ImportOptions{Ref: "bomb2"}); err != nil {
		t.Fatal(err)
	}
	if n2, count2 := imagetest.BlobUsage(t, s.Content()); count2 != 1 || n2 != n {
		t.Errorf("after re-import uncompressed: %d blobs, %d bytes; want the first one only", count2, n2)
	}
}

func decompressAll(t *testing.T, b []byte) ([]byte, int, error) {
	t.Helper()
	rd, _, err := archive.Decompress(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	out, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	return out, len(out), nil
}
