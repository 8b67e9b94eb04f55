package distribution

import (
	"context"
	"log/slog"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/images"
)

// ImageStore is what pull and push need of the image database
// (*images.Service implements it): an image is registered only once its
// layers are there.
type ImageStore interface {
	// CreateImageRaw registers the image whose config is raw (its layers
	// held) under refs and repoDigest.
	CreateImageRaw(raw []byte, parent string, refs []string, repoDigest string) (*images.Image, error)
	HasImage(id string) bool
	RefTarget(ref string) string
	References() []images.Reference
	RawConfig(id string) (raw []byte, chainIDs []string, err error)
	AddReference(ref, id string) error
	LogEvent(action, id, name, imageID string)
}

// LayerStore is what they need of the layer store (*snapshots.Store
// implements it): layers are held while a transfer uses them and
// extracted at most once at a time per chain ID.
type LayerStore interface {
	// HoldLayer holds layer chainID if present; false if absent.
	HoldLayer(chainID string) bool
	// EnsureLayer extracts layer chainID with extract unless present,
	// and holds it; it reports whether it was present.
	EnsureLayer(ctx context.Context, chainID string, extract func(dir string) (images.Layer, error)) (existed bool, err error)
	// ReleaseLayers drops holds taken by HoldLayer and EnsureLayer.
	ReleaseLayers(chainIDs []string)
	// Layers returns the records of held or registered layers.
	Layers(chainIDs []string) ([]images.Layer, error)
	// HoldBlob keeps blob d from garbage collection until ReleaseBlob.
	HoldBlob(d string)
	ReleaseBlob(d string)
	// CompressLayers stores gzip blobs for layers kept uncompressed.
	CompressLayers(chainIDs []string) error
}

var _ ImageStore = (*images.Service)(nil)

// Options are the service's collaborators.
type Options struct {
	Images  ImageStore
	Layers  LayerStore
	Content content.Store
	Log     *slog.Logger // nil: discard
}

// Service pulls, pushes and asks registries. All methods are safe for
// concurrent use.
type Service struct {
	images  ImageStore
	layers  LayerStore
	content content.Store
	log     *slog.Logger

	registry registrySettings
}

// New makes the service with Docker's default registry settings (see
// SetRegistryConfig).
func New(opts Options) *Service {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{images: opts.Images, layers: opts.Layers, content: opts.Content, log: log}
}
