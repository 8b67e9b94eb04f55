package distribution

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/imagetest"
	"github.com/berth-dev/berth/engine/store"
)

// testServices is a local image store with a registry client over it, as
// the daemon wires them: tests call both sides' methods on one value.
type testServices struct {
	*images.Service
	*registryClient
	*archiver
}

type (
	registryClient = Service
	archiver       = imagearchive.Service
)

func newTestService(t *testing.T) (*testServices, string, *store.DB) {
	t.Helper()
	return newTestServiceOpts(t, images.Options{})
}

func newTestServiceOpts(t *testing.T, opts images.Options) (*testServices, string, *store.DB) {
	t.Helper()
	db, dir := imagetest.DB(t)
	imgs, err := images.New(filepath.Join(dir, "image"), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &testServices{imgs, New(Options{Images: imgs, Layers: imgs.LayerStore(), Content: imgs.Content()}), imagearchive.New(imgs, imgs.LayerStore())}, dir, db
}

type ioReadCloser = io.ReadCloser

func nopCloser(r io.Reader) io.ReadCloser { return io.NopCloser(r) }
