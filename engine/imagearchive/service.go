package imagearchive

import (
	"context"
	"io"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/archive"
)

// ImageStore is what save and load need of the local image store
// (*images.Service implements it).
type ImageStore interface {
	Resolve(ctx context.Context, ref string) (*images.Image, error)
	References() []images.Reference
	RawConfig(id string) (raw []byte, chainIDs []string, err error)
	Layers(chainIDs []string) ([]images.Layer, error)
	EnsureLayer(ctx context.Context, chainID string, extract func(dir string) (images.Layer, error)) (existed bool, err error)
	// ExtractLayer unpacks a layer tarball into dir and stores its blob,
	// held until ReleaseBlob.
	ExtractLayer(dir string, src io.Reader, opts archive.Options) (images.Layer, error)
	ReleaseLayers(chainIDs []string)
	ReleaseBlob(d string)
	CreateImageRaw(raw []byte, parent string, refs []string, repoDigest string) (*images.Image, error)
	LogEvent(action, id, name, imageID string)
	// TempDir is a private directory on the store's file system.
	TempDir() string
}

var _ ImageStore = (*images.Service)(nil)

// Service saves and loads image archives.
type Service struct {
	images  ImageStore
	content content.Provider
}

// New makes the service over the image store and its blobs.
func New(imgs ImageStore, blobs content.Provider) *Service {
	return &Service{images: imgs, content: blobs}
}
