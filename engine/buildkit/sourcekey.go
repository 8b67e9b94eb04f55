package buildkit

import (
	"context"
	"encoding/json"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/source"
	"github.com/moby/buildkit/source/containerimage"
	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The cache key of a FROM image that comes from Berth's store is the chain
// ID of its layers, as dockerd's builder keys images of its own store, not
// the digest of the manifest BuildKit resolved. That manifest is one expose
// writes over the layers' current blobs, and a layer's blob changes while
// its content does not: a push replaces an uncompressed tarball by its gzip
// (snapshots.Store.CompressLayers), a pull or load may bring another
// compression of the same tar. Keyed by the manifest, every step built on
// the image stopped matching the cache it had exported or imported (inline,
// registry, local) as soon as `docker build --push` (which buildx's docker
// driver turns into an image push through the Engine API) compressed the
// base layer.
//
// A chain ID names the layers' content: Berth registers a layer under it
// only after the tarball's diff IDs are verified (a pull, a load, a build),
// so an image in Berth's store cannot make a key that another content
// answers (the concern behind BuildKit keying registry images by manifest).
// Images BuildKit pulls itself keep BuildKit's key.

// Resolve is the image source's, with the instance keyed by layers when the
// image is one of Berth's (see localKeyedImage).
func (s preferLocalSource) Resolve(ctx context.Context, id source.Identifier, sm *session.Manager, vtx solver.Vertex) (source.SourceInstance, error) {
	inst, err := s.Source.Resolve(ctx, id, sm, vtx)
	if err != nil {
		return nil, err
	}
	img, ok := id.(*containerimage.ImageIdentifier)
	if !ok {
		return inst, nil
	}
	return localKeyedImage{SourceInstance: inst, content: s.content, limit: img.LayerLimit}, nil
}

// localKeyedImage is an image source instance whose cache key is the chain
// ID of its (first limit) layers when the manifest it resolved is one
// expose wrote for an image of Berth's store.
type localKeyedImage struct {
	source.SourceInstance
	content content.Provider
	limit   *int
}

func (i localKeyedImage) CacheKey(ctx context.Context, jobCtx solver.JobContext, index int) (string, string, solver.CacheOpts, bool, error) {
	key, pin, opts, done, err := i.SourceInstance.CacheKey(ctx, jobCtx, index)
	if err != nil || !done {
		return key, pin, opts, done, err
	}
	if k, ok := localImageKey(ctx, i.content, digest.Digest(pin), i.limit); ok {
		key = k
	}
	return key, pin, opts, done, nil
}

// localImageKey returns the chain ID of the layers of the exposed manifest
// m (the first limit of them when limit is set); ok is false when m is not
// a manifest of Berth's images.
func localImageKey(ctx context.Context, cs content.Provider, m digest.Digest, limit *int) (string, bool) {
	info, ok := cs.(content.InfoProvider)
	if !ok || m.Validate() != nil {
		return "", false
	}
	i, err := info.Info(ctx, m)
	if err != nil || i.Labels[exposedLabel] == "" {
		return "", false
	}
	var mf ocispec.Manifest
	if !readJSON(ctx, cs, ocispec.Descriptor{Digest: m, Size: i.Size}, &mf) {
		return "", false
	}
	var img ocispec.Image
	if !readJSON(ctx, cs, mf.Config, &img) || len(img.RootFS.DiffIDs) != len(mf.Layers) {
		return "", false
	}
	diffIDs := img.RootFS.DiffIDs
	if limit != nil {
		if *limit < 0 || *limit > len(diffIDs) {
			return "", false
		}
		diffIDs = diffIDs[:*limit]
	}
	if len(diffIDs) == 0 {
		return "", false
	}
	return identity.ChainID(diffIDs).String(), true
}

// readJSON decodes the small blob d (a manifest or a config) into v.
func readJSON(ctx context.Context, cs content.Provider, d ocispec.Descriptor, v any) bool {
	if d.Size > 4<<20 {
		return false
	}
	raw, err := content.ReadBlob(ctx, cs, d)
	return err == nil && json.Unmarshal(raw, v) == nil
}
