package imagearchive

import (
	"context"
	"io"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/archive"
)

// ImageStore is what save, load and import need of the image database
// (*images.Service implements it).
type ImageStore interface {
	Resolve(ctx context.Context, ref string) (*images.Image, error)
	References() []images.Reference
	RawConfig(id string) (raw []byte, chainIDs []string, err error)
	// CreateImageRaw and CreateImage register an image whose layers are
	// held in the layer store.
	CreateImageRaw(raw []byte, parent string, refs []string, repoDigest string) (*images.Image, error)
	CreateImage(cfg *images.ConfigFile, parent string, refs []string) (*images.Image, error)
	LogEvent(action, id, name, imageID string)
}

// LayerStore is what they need of the layer store (*snapshots.Store
// implements it): layers are held from extraction until the image naming
// them is registered.
type LayerStore interface {
	Layers(chainIDs []string) ([]images.Layer, error)
	EnsureLayer(ctx context.Context, chainID string, extract func(dir string) (images.Layer, error)) (existed bool, err error)
	// ExtractLayer unpacks a layer tarball into dir and stores its blob,
	// held until ReleaseBlob.
	ExtractLayer(dir string, src io.Reader, opts archive.Options) (images.Layer, error)
	// AddLayer extracts a layer stream on top of a chain and holds it
	// until release.
	AddLayer(ctx context.Context, parent string, src io.Reader, opts archive.Options) (l images.Layer, release func(), err error)
	ReleaseLayers(chainIDs []string)
	ReleaseBlob(d string)
	// TempDir is a private directory on the store's file system.
	TempDir() string
	// Content is the blob store the layers' tarballs are in.
	Content() content.Store
}

var _ ImageStore = (*images.Service)(nil)

// Service saves, loads and imports image archives.
type Service struct {
	images  ImageStore
	layers  LayerStore
	content content.Provider
}

// New makes the service over the image database and the layer store.
func New(imgs ImageStore, layers LayerStore) *Service {
	return &Service{images: imgs, layers: layers, content: layers.Content()}
}
