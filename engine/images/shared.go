package images

import (
	"context"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/internal/errdefs"
)

// The blob store is shared with the builder (BuildKit's content store is
// these blobs, below its own metadata DB): a blob is deleted only when
// neither side uses it. The builder says which blobs it keeps through
// Options.KeepBlobs (asked by GC) and deletes its own through
// DeleteBlobUnlessUsed.

// DeleteBlobUnlessUsed removes blob d unless a layer record, a layer being
// registered or a hold uses it, in one step under the service's lock; it
// reports whether it removed it.
func (s *Service) DeleteBlobUnlessUsed(ctx context.Context, d digest.Digest) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blobUsedLocked(d.String()) {
		return false, nil
	}
	return true, s.content.Delete(ctx, d)
}

// keptElsewhere returns the blobs another user of the blob store keeps;
// ok is false when that cannot be told (GC then deletes no blob).
func (s *Service) keptElsewhere(ctx context.Context) (map[string]bool, bool) {
	if s.keepBlobs == nil {
		return nil, true
	}
	kept, err := s.keepBlobs(ctx)
	if err != nil {
		s.log.Warn("gc: blobs are kept: cannot tell which the builder uses", "err", err)
		return nil, false
	}
	return kept, true
}

// ExtractBlob unpacks the layer whose tarball (compressed or not) is blob b
// of the store into dir, checking it against diffID, for EnsureLayer: the
// layer's record names b itself, so the bytes stay stored once. b is held
// (until ReleaseBlob) so that no GC takes it before the layer is
// registered.
func (s *Service) ExtractBlob(ctx context.Context, dir string, b Blob, diffID string) (Layer, error) {
	s.HoldBlob(b.Digest)
	rc, err := s.openBlob(b.Digest)
	if err != nil {
		s.ReleaseBlob(b.Digest)
		return Layer{}, err
	}
	defer rc.Close()
	rd, _, err := archive.Decompress(rc)
	if err != nil {
		s.ReleaseBlob(b.Digest)
		return Layer{}, errdefs.Invalid("layer blob %s: %s", b.Digest, err.Error())
	}
	defer rd.Close()
	res, err := archive.Extract(rd, dir, archive.Options{DiffID: diffID})
	if err != nil {
		s.ReleaseBlob(b.Digest)
		return Layer{}, fmt.Errorf("layer blob %s: %w", b.Digest, err)
	}
	return Layer{DiffID: res.DiffID, Size: res.Size, TarSize: res.TarSize, Blob: &b}, nil
}

// HoldLayerByBlob finds a registered layer whose blob is d and holds it
// (until ReleaseLayers of chainID): the builder links its files instead of
// unpacking the blob again.
func (s *Service) HoldLayerByBlob(d string) (chainID, dir, diffID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.db.Bolt().View(func(tx *bolt.Tx) error {
		return snapshots.ForEachLayer(tx, func(k string, lr Layer) error {
			if !ok && lr.Blob != nil && lr.Blob.Digest == d && s.holdIfExistsLocked(tx, k) {
				chainID, diffID, ok = k, lr.DiffID, true
			}
			return nil
		})
	})
	if !ok {
		return "", "", "", false
	}
	return chainID, s.layerDir(chainID), diffID, true
}
