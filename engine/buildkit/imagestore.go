package buildkit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImageStore is the part of Berth's image store BuildKit uses: it is
// declared here, on the consumer's side, and satisfied by an adapter in the
// daemon wiring. Blobs are named by descriptors of the blob store both
// share (Config.Blobs).
type ImageStore interface {
	BlobGuard
	LayerSource
	// Lookup returns the ID ("sha256:<config digest>") of the local image
	// ref names; ok is false when there is none.
	Lookup(ctx context.Context, ref string) (id string, ok bool, err error)
	// Image returns image id's config (its exact bytes) and the blobs of
	// its layers, bottom first.
	Image(ctx context.Context, id string) (config []byte, layers []ocispec.Descriptor, err error)
	// Register stores the image whose config is config and whose layers
	// are the blobs layers (compressed or not), tagged tag unless it is "".
	// unpacked (nil: none) finds layers unpacked already: the store
	// links their files rather than unpacking the blob again.
	Register(ctx context.Context, config []byte, layers []ocispec.Descriptor, unpacked UnpackedLayers, tag string) error
}

// Labels of the manifests that expose Berth's images to BuildKit.
const (
	// gcRoot keeps an exposed image's blobs out of BuildKit's garbage
	// collection until the next prune.
	gcRoot = "containerd.io/gc.root"
	// exposedLabel marks a manifest written by expose (value: image ID).
	exposedLabel = "berth.image"
)

// imageStore adapts Berth's images to containerd's images.Store, the
// interface BuildKit's image source (FROM) and image exporter use.
type imageStore struct {
	berth   ImageStore
	content content.Store
	log     *slog.Logger

	mu      sync.Mutex
	exposed map[string]ocispec.Descriptor // Berth image ID -> manifest in content
}

var _ images.Store = (*imageStore)(nil)

// Get finds a Berth image by name and makes it readable by BuildKit under
// an OCI manifest whose layers are the image's own blobs.
func (s *imageStore) Get(ctx context.Context, name string) (images.Image, error) {
	id, ok, err := s.berth.Lookup(ctx, name)
	if err != nil {
		return images.Image{}, err
	}
	if !ok {
		return images.Image{}, fmt.Errorf("image %q: %w", name, cerrdefs.ErrNotFound)
	}
	desc, err := s.expose(ctx, id)
	if err != nil {
		return images.Image{}, err
	}
	return images.Image{Name: name, Target: desc}, nil
}

// expose registers image id's layer blobs with BuildKit's metadata by
// digest (nothing is copied: they are already in the shared store), writes
// its config and a manifest over them (a GC root), and remembers the
// manifest for this daemon run.
func (s *imageStore) expose(ctx context.Context, id string) (ocispec.Descriptor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.exposed[id]; ok {
		if _, err := s.content.Info(ctx, d.Digest); err == nil {
			return d, nil
		}
	}
	raw, layers, err := s.berth.Image(ctx, id)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	fail := func(err error) (ocispec.Descriptor, error) {
		return ocispec.Descriptor{}, fmt.Errorf("exposing image %s to BuildKit: %w", id, err)
	}
	cfg := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
	if err := content.WriteBlob(ctx, s.content, "berth-config-"+cfg.Digest.Encoded(), strings.NewReader(string(raw)), cfg); err != nil {
		return fail(err)
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: layers}
	m.SchemaVersion = 2
	labels := map[string]string{gcRoot: "true", exposedLabel: id, "containerd.io/gc.ref.content.config": cfg.Digest.String()}
	for i, l := range layers {
		if err := registerBlob(ctx, s.content, l); err != nil {
			return fail(err)
		}
		labels[fmt.Sprintf("containerd.io/gc.ref.content.l.%d", i)] = l.Digest.String()
	}
	mraw, err := json.Marshal(m)
	if err != nil {
		return fail(err)
	}
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mraw), Size: int64(len(mraw))}
	if err := content.WriteBlob(ctx, s.content, "berth-manifest-"+md.Digest.Encoded(), strings.NewReader(string(mraw)), md, content.WithLabels(labels)); err != nil {
		return fail(err)
	}
	// WriteBlob leaves the labels of a manifest that existed alone.
	if _, err := s.content.Update(ctx, content.Info{Digest: md.Digest, Labels: labels}, labelPaths(labels)...); err != nil {
		return fail(err)
	}
	if s.exposed == nil {
		s.exposed = map[string]ocispec.Descriptor{}
	}
	s.exposed[id] = md
	return md, nil
}

func labelPaths(l map[string]string) []string {
	out := make([]string, 0, len(l))
	for k := range l {
		out = append(out, "labels."+k)
	}
	return out
}

// registerBlob records a blob that is already in the shared store in
// BuildKit's metadata: containerd's metadata DB (shared policy) makes the
// writer of a known digest a record-only one, committed without data.
func registerBlob(ctx context.Context, cs content.Store, d ocispec.Descriptor) error {
	w, err := cs.Writer(ctx, content.WithRef("berth-layer-"+d.Digest.Encoded()), content.WithDescriptor(d))
	if cerrdefs.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.Commit(ctx, d.Size, d.Digest); err != nil && !cerrdefs.IsAlreadyExists(err) {
		return fmt.Errorf("layer blob %s: %w", d.Digest, err)
	}
	return nil
}

// unexposeAll drops the GC roots of exposed images, so that a prune can
// collect what only they kept (the next build exposes again, by digest).
func (s *imageStore) unexposeAll(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ds []content.Info
	if err := s.content.Walk(ctx, func(i content.Info) error {
		ds = append(ds, i)
		return nil
	}, `labels."`+exposedLabel+`"`); err != nil {
		return err
	}
	// BuildKit's content store forbids Delete: unlabelled, the manifest
	// is no root, and the next GC collects it.
	for _, i := range ds {
		_, err := s.content.Update(ctx, content.Info{Digest: i.Digest}, "labels."+gcRoot, "labels."+exposedLabel)
		if err != nil && !cerrdefs.IsNotFound(err) {
			return err
		}
	}
	s.exposed = nil
	return nil
}

// List is asked which images keep build cache records alive; Berth's images
// keep their layers themselves, so none does.
func (s *imageStore) List(ctx context.Context, _ ...string) ([]images.Image, error) {
	return nil, nil
}

// Create stores a build's result in Berth's store, tagged img.Name unless
// that is the dangling placeholder. The layers are registered by their
// blobs, which the exporter wrote into the shared store: nothing is copied
// or recompressed; and the files of those unpacked in BuildKit's snapshots
// are linked, not unpacked again.
func (s *imageStore) Create(ctx context.Context, img images.Image) (images.Image, error) {
	tag := img.Name
	if strings.HasPrefix(tag, danglingPrefix+"@") {
		tag = ""
	} else if n, err := reference.ParseNormalizedNamed(tag); err != nil {
		return images.Image{}, fmt.Errorf("invalid image name %q: %w", tag, cerrdefs.ErrInvalidArgument)
	} else if _, digested := n.(reference.Digested); digested {
		tag = ""
	} else {
		tag = reference.TagNameOnly(n).String()
	}
	m, err := images.Manifest(ctx, s.content, img.Target, platforms.Default())
	if err != nil {
		return images.Image{}, fmt.Errorf("storing the built image: %w", err)
	}
	raw, err := content.ReadBlob(ctx, s.content, m.Config)
	if err != nil {
		return images.Image{}, fmt.Errorf("storing the built image: config: %w", err)
	}
	if err := s.berth.Register(ctx, raw, m.Layers, unpackedFrom(ctx), tag); err != nil {
		return images.Image{}, fmt.Errorf("storing the built image: %w", err)
	}
	return img, nil
}

// Update is Create: the exporter updates first and creates on NotFound.
func (s *imageStore) Update(ctx context.Context, img images.Image, _ ...string) (images.Image, error) {
	return s.Create(ctx, img)
}

// Delete is not used by builds; images are removed with `docker rmi`.
func (s *imageStore) Delete(ctx context.Context, name string, _ ...images.DeleteOpt) error {
	return fmt.Errorf("deleting images through BuildKit: %w", cerrdefs.ErrNotImplemented)
}
