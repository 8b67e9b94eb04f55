package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
)

// Push uploads a local image to its registry, like `docker push`. A
// reference without a tag pushes every tag of the repository.
func (s *Service) Push(ctx context.Context, ref string, opts PushOptions, progress ProgressFunc) error {
	n, err := reference.Parse(ref)
	if err != nil {
		return err
	}
	if reference.Digest(n) != "" {
		return errdefs.Invalid("cannot push a digest reference")
	}
	var targets []reference.Named
	if reference.Tag(n) != "" {
		targets = append(targets, n)
	} else {
		s.mu.RLock()
		for r := range s.refs {
			if rn, err := reference.Parse(r); err == nil && rn.Name() == n.Name() && reference.Tag(rn) != "" {
				targets = append(targets, rn)
			}
		}
		s.mu.RUnlock()
		sort.Slice(targets, func(i, j int) bool { return targets[i].String() < targets[j].String() })
	}
	if len(targets) == 0 {
		return errdefs.NotFound("An image does not exist locally with the tag: %s", reference.FamiliarName(n))
	}
	progress.emit(ProgressEvent{Status: "The push refers to repository [" + n.Name() + "]"})
	for _, t := range targets {
		if err := s.pushOne(ctx, t, opts, progress); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) pushOne(ctx context.Context, n reference.Named, opts PushOptions, progress ProgressFunc) error {
	s.mu.RLock()
	id, ok := s.refs[n.String()]
	rec := s.images[id]
	s.mu.RUnlock()
	if !ok || rec == nil {
		return errdefs.NotFound("An image does not exist locally with the tag: %s", reference.FamiliarName(n))
	}
	img, layers, err := s.v1Image(rec)
	if err != nil {
		return err
	}
	rref, err := remoteRef(n)
	if err != nil {
		return err
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(authenticator(opts.RegistryAuth)), remote.WithUserAgent("berth")}
	for i := len(layers) - 1; i >= 0; i-- {
		progress.emit(ProgressEvent{ID: shortHex(layers[i].diffID), Status: "Preparing"})
	}
	for i := len(layers) - 1; i >= 0; i-- {
		l := layers[i]
		progress.emit(ProgressEvent{ID: shortHex(l.diffID), Status: "Pushing", Current: 0, Total: l.blob.Size})
		if err := remote.WriteLayer(rref.Context(), l, ropts...); err != nil {
			return fmt.Errorf("push layer %s: %w", shortHex(l.diffID), err)
		}
		progress.emit(ProgressEvent{ID: shortHex(l.diffID), Status: "Pushed"})
	}
	if err := remote.Write(rref, img, ropts...); err != nil {
		return fmt.Errorf("push %s: %w", reference.Familiar(n), err)
	}
	d, _ := img.Digest()
	raw, _ := img.RawManifest()
	progress.emit(ProgressEvent{Status: fmt.Sprintf("%s: digest: %s size: %d", reference.Tag(n), d, len(raw))})
	if c, err := reference.WithDigest(n, d.String()); err == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.db.Bolt().Update(func(tx *boltTx) error {
			return tx.Bucket([]byte(bucketRefs)).Put([]byte(c.String()), []byte(rec.ID))
		}); err == nil {
			s.refs[c.String()] = rec.ID
		}
	}
	return nil
}

func shortHex(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// localLayer is a layer blob of the content store as go-containerregistry
// sees it.
type localLayer struct {
	s      *Service
	blob   blobRef
	diffID string
}

func (l *localLayer) Digest() (v1.Hash, error) { return v1.NewHash(l.blob.Digest) }
func (l *localLayer) DiffID() (v1.Hash, error) { return v1.NewHash(l.diffID) }
func (l *localLayer) Size() (int64, error)     { return l.blob.Size, nil }
func (l *localLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.blob.MediaType), nil
}
func (l *localLayer) Compressed() (io.ReadCloser, error) { return l.s.content.Open(l.blob.Digest) }
func (l *localLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, fmt.Errorf("uncompressed read of a pushed layer is not supported")
}

type localImage struct {
	raw, manifest []byte
	mt            types.MediaType
	layers        map[string]*localLayer
}

func (i *localImage) RawConfigFile() ([]byte, error)      { return i.raw, nil }
func (i *localImage) MediaType() (types.MediaType, error) { return i.mt, nil }
func (i *localImage) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *localImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := i.layers[h.String()]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("layer %s not found", h)
}

// v1Image builds the registry form of a local image: its exact config and
// the layer blobs it was made from, under a manifest of the fitting type
// (Docker's when every layer is Docker-typed, else OCI).
func (s *Service) v1Image(rec *imageRecord) (v1.Image, []*localLayer, error) {
	recs, err := s.layerRecords(rec.ChainIDs)
	if err != nil {
		return nil, nil, err
	}
	docker := len(recs) > 0
	for _, r := range recs {
		if r.Blob == nil {
			return nil, nil, fmt.Errorf("layer %s has no stored blob: it cannot be pushed or saved", r.ChainID)
		}
		if !strings.HasPrefix(r.Blob.MediaType, "application/vnd.docker.") {
			docker = false
		}
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	m.Config = v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(rec.Config))}
	if docker {
		m.MediaType, m.Config.MediaType = types.DockerManifestSchema2, types.DockerConfigJSON
	}
	h, _ := v1.NewHash(rec.ID)
	m.Config.Digest = h
	li := &localImage{raw: rec.Config, mt: m.MediaType, layers: map[string]*localLayer{}}
	var layers []*localLayer
	for _, r := range recs {
		mt := types.MediaType(r.Blob.MediaType)
		if !docker {
			mt = ociLayerType(mt)
		}
		l := &localLayer{s: s, blob: blobRef{Digest: r.Blob.Digest, MediaType: string(mt), Size: r.Blob.Size}, diffID: r.DiffID}
		d, _ := v1.NewHash(r.Blob.Digest)
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Size: r.Blob.Size, Digest: d})
		li.layers[r.Blob.Digest] = l
		layers = append(layers, l)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	li.manifest = raw
	img, err := partial.CompressedToImage(li)
	return img, layers, err
}

func ociLayerType(mt types.MediaType) types.MediaType {
	switch mt {
	case types.DockerLayer, types.DockerForeignLayer:
		return types.OCILayer
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	}
	return mt
}
