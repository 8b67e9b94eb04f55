package buildkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImageStore is the part of Berth's image store BuildKit uses: it is
// declared here, on the consumer's side, and satisfied by an adapter in the
// daemon wiring.
type ImageStore interface {
	// Lookup returns the ID ("sha256:<config digest>") of the local image
	// ref names; ok is false when there is none.
	Lookup(ctx context.Context, ref string) (id string, ok bool, err error)
	// Save writes the image as `docker save` does: manifest.json, the
	// config blob and each layer's uncompressed tar.
	Save(ctx context.Context, id string, w io.Writer) error
	// Load stores the image(s) of an OCI image layout tar, tagging each
	// index entry by its io.containerd.image.name annotation.
	Load(ctx context.Context, r io.Reader) error
}

// gcRoot keeps content BuildKit did not make (a Berth image exposed to
// FROM) out of BuildKit's garbage collection.
const gcRoot = "containerd.io/gc.root"

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

// Get finds a Berth image by name and makes it readable by BuildKit: its
// config and uncompressed layers are written to BuildKit's content store
// (once per image and daemon run) under an OCI manifest.
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

func (s *imageStore) expose(ctx context.Context, id string) (ocispec.Descriptor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.exposed[id]; ok {
		if _, err := s.content.Info(ctx, d.Digest); err == nil {
			return d, nil
		}
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.berth.Save(ctx, id, pw)) }()
	d, err := importDockerArchive(ctx, s.content, pr)
	pr.CloseWithError(err)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("exposing image %s to BuildKit: %w", id, err)
	}
	if s.exposed == nil {
		s.exposed = map[string]ocispec.Descriptor{}
	}
	s.exposed[id] = d
	return d, nil
}

// List is asked which images keep build cache records alive; Berth's images
// hold their own copies of their layers, so none does.
func (s *imageStore) List(ctx context.Context, _ ...string) ([]images.Image, error) {
	return nil, nil
}

// Create stores a build's result in Berth's store, tagged img.Name unless
// that is the dangling placeholder.
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
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeOCILayout(ctx, s.content, img.Target, tag, pw)) }()
	err := s.berth.Load(ctx, pr)
	pr.CloseWithError(err)
	if err != nil {
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

// maxArchiveJSON caps manifest.json of a saved image.
const maxArchiveJSON = 16 << 20

// importDockerArchive writes the members of a `docker save` stream into cs
// and returns the descriptor of an OCI manifest over them (the manifest is
// a GC root; config and layers hang off it).
func importDockerArchive(ctx context.Context, cs content.Store, r io.Reader) (ocispec.Descriptor, error) {
	blobs := map[string]ocispec.Descriptor{}
	var manifest []struct {
		Config string
		Layers []string
	}
	err := walkTar(r, func(name string, size int64, body io.Reader) error {
		if name == "manifest.json" {
			if size > maxArchiveJSON {
				return fmt.Errorf("manifest.json is %d bytes", size)
			}
			return json.NewDecoder(body).Decode(&manifest)
		}
		d, err := writeBlob(ctx, cs, body, size, nil)
		if err != nil {
			return err
		}
		blobs[name] = d
		return nil
	})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if len(manifest) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("saved image has %d manifests, want 1", len(manifest))
	}
	cfg, ok := blobs[manifest[0].Config]
	if !ok {
		return ocispec.Descriptor{}, fmt.Errorf("saved image lacks its config %q", manifest[0].Config)
	}
	cfg.MediaType = ocispec.MediaTypeImageConfig
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg}
	m.SchemaVersion = 2
	labels := map[string]string{gcRoot: "true", "containerd.io/gc.ref.content.config": cfg.Digest.String()}
	for i, l := range manifest[0].Layers {
		d, ok := blobs[l]
		if !ok {
			return ocispec.Descriptor{}, fmt.Errorf("saved image lacks its layer %q", l)
		}
		d.MediaType = ocispec.MediaTypeImageLayer
		m.Layers = append(m.Layers, d)
		labels[fmt.Sprintf("containerd.io/gc.ref.content.l.%d", i)] = d.Digest.String()
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d, err := writeBlob(ctx, cs, strings.NewReader(string(raw)), int64(len(raw)), labels)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d.MediaType = ocispec.MediaTypeImageManifest
	return d, nil
}

var importSeq atomic.Uint64

// writeBlob stores size bytes of r in cs, content-addressed.
func writeBlob(ctx context.Context, cs content.Store, r io.Reader, size int64, labels map[string]string) (ocispec.Descriptor, error) {
	w, err := content.OpenWriter(ctx, cs, content.WithRef(fmt.Sprintf("berth-import-%d-%d", time.Now().UnixNano(), importSeq.Add(1))))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer w.Close()
	if err := w.Truncate(0); err != nil {
		return ocispec.Descriptor{}, err
	}
	n, err := io.Copy(w, io.LimitReader(r, size))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if n != size {
		return ocispec.Descriptor{}, fmt.Errorf("short blob: %d of %d bytes", n, size)
	}
	dgst := w.Digest()
	var opts []content.Opt
	if labels != nil {
		opts = append(opts, content.WithLabels(labels))
	}
	if err := w.Commit(ctx, size, dgst, opts...); err != nil {
		if !cerrdefs.IsAlreadyExists(err) {
			return ocispec.Descriptor{}, err
		}
		if labels != nil {
			info := content.Info{Digest: dgst, Labels: labels}
			var fields []string
			for k := range labels {
				fields = append(fields, "labels."+k)
			}
			if _, err := cs.Update(ctx, info, fields...); err != nil {
				return ocispec.Descriptor{}, err
			}
		}
	}
	return ocispec.Descriptor{Digest: dgst, Size: size}, nil
}
