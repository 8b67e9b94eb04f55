package imagearchive

import (
	"context"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/imagechange"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/platform"
	"github.com/berth-dev/berth/engine/images/reference"
)

// ImportOptions are the parameters of Import (`docker import`).
type ImportOptions struct {
	// Ref ("name[:tag]") tags the new image; empty leaves it untagged.
	Ref string
	// Changes are Dockerfile instructions applied to the config.
	Changes []string
	// Message goes into the history and the config comment; empty means
	// "Imported from -".
	Message string
	// Platform ("linux/arm64"); empty means the host's.
	Platform string
}

// Import turns a root filesystem tarball (plain, gzip, zstd or bzip2,
// detected by its magic bytes) into a one-layer image, like `docker
// import`. Bad input (reference, platform, changes) is refused before the
// stream is read.
func (s *Service) Import(ctx context.Context, src io.Reader, opts ImportOptions) (*images.Image, error) {
	refs, err := reference.NewTagRefs(opts.Ref)
	if err != nil {
		return nil, err
	}
	plat, err := platform.Parse(opts.Platform)
	if err != nil {
		return nil, err
	}
	var cfg images.ConfigFile
	if err := imagechange.Apply(&cfg.Config, opts.Changes); err != nil {
		return nil, err
	}
	msg := opts.Message
	if msg == "" {
		msg = "Imported from -"
	}

	layer, release, err := s.layers.AddLayer(ctx, "", src, archive.Options{})
	if err != nil {
		return nil, err
	}
	defer release()

	created := time.Now().UTC()
	cfg.Created = &created
	cfg.Platform = plat
	cfg.Comment = msg
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.Digest(layer.DiffID)}}
	cfg.History = []ocispec.History{{Created: &created, Comment: msg}}
	img, err := s.images.CreateImage(&cfg, "", refs)
	if err != nil {
		return nil, err
	}
	s.images.LogEvent("import", img.ID, img.ID, img.ID)
	return img, nil
}
