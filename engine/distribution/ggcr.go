package distribution

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/images"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// The go-containerregistry adapter: a local image (its exact config bytes
// and the layer blobs of the content store) as a v1.Image, so that
// remote.Write pushes exactly the bytes whose digests the config records.

// localLayer is a layer blob of the content store as go-containerregistry
// sees it.
type localLayer struct {
	blobs  content.Provider
	blob   images.Blob
	diffID string
}

var _ partial.CompressedLayer = (*localLayer)(nil)

func (l *localLayer) Digest() (v1.Hash, error) { return v1.NewHash(l.blob.Digest) }
func (l *localLayer) DiffID() (v1.Hash, error) { return v1.NewHash(l.diffID) }
func (l *localLayer) Size() (int64, error)     { return l.blob.Size, nil }
func (l *localLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.blob.MediaType), nil
}
func (l *localLayer) Compressed() (io.ReadCloser, error) {
	return content.Open(context.Background(), l.blobs, digest.Digest(l.blob.Digest))
}
func (l *localLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, fmt.Errorf("uncompressed read of a pushed layer is not supported")
}

// localImage is the image's manifest, made here, over its config and
// layers.
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

var _ partial.CompressedImageCore = (*localImage)(nil)

// newLocalImage builds the registry form of local image id (config raw,
// layers recs, bottom first): its exact config and the layer blobs it was
// made from, under a manifest of the fitting type (Docker's when every
// layer is Docker-typed, else OCI).
func newLocalImage(blobs content.Provider, id string, raw []byte, recs []images.Layer) (v1.Image, []*localLayer, error) {
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
	m.Config = v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(raw))}
	if docker {
		m.MediaType, m.Config.MediaType = types.DockerManifestSchema2, types.DockerConfigJSON
	}
	h, _ := v1.NewHash(id)
	m.Config.Digest = h
	li := &localImage{raw: raw, mt: m.MediaType, layers: map[string]*localLayer{}}
	var layers []*localLayer
	for _, r := range recs {
		mt := types.MediaType(r.Blob.MediaType)
		if !docker {
			mt = ociLayerType(mt)
		}
		l := &localLayer{blobs: blobs, blob: images.Blob{Digest: r.Blob.Digest, MediaType: string(mt), Size: r.Blob.Size}, diffID: r.DiffID}
		d, _ := v1.NewHash(r.Blob.Digest)
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Size: r.Blob.Size, Digest: d})
		li.layers[r.Blob.Digest] = l
		layers = append(layers, l)
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	li.manifest = manifest
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
