package snapshots

import (
	"context"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/internal/errdefs"
)

// The blob store is shared with the builder (BuildKit's content store is
// these blobs, below its own metadata DB): a blob is deleted only when
// neither side uses it. The builder says which blobs it keeps through
// StoreOptions.KeepBlobs (asked by GC) and deletes its own through
// DeleteBlobUnlessUsed.

// DeleteBlobUnlessUsed removes blob d unless a layer record, a layer being
// registered or a hold uses it, in one step under the store's lock; it
// reports whether it removed it.
func (st *Store) DeleteBlobUnlessUsed(ctx context.Context, d digest.Digest) (bool, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.blobUsedLocked(d.String()) {
		return false, nil
	}
	return true, st.content.Delete(ctx, d)
}

// keptElsewhere returns the blobs another user of the blob store keeps;
// ok is false when that cannot be told (GC then deletes no blob).
func (st *Store) keptElsewhere(ctx context.Context) (map[string]bool, bool) {
	if st.keepBlobs == nil {
		return nil, true
	}
	kept, err := st.keepBlobs(ctx)
	if err != nil {
		st.log.Warn("gc: blobs are kept: cannot tell which the builder uses", "err", err)
		return nil, false
	}
	return kept, true
}

// keptOnce asks the other user of the blob store which blobs it keeps at
// most once, when first needed (a pass over many candidate blobs reads the
// builder's records once).
type keptOnce struct {
	st        *Store
	asked, ok bool
	kept      map[string]bool
}

// has reports whether the other user keeps blob d (true when that cannot
// be told).
func (k *keptOnce) has(ctx context.Context, d string) bool {
	if !k.asked {
		k.kept, k.ok = k.st.keptElsewhere(ctx)
		k.asked = true
	}
	return !k.ok || k.kept[d]
}

// ExtractBlob unpacks the layer whose tarball (compressed or not) is blob b
// of the store into dir, checking it against diffID, for EnsureLayer: the
// layer's record names b itself, so the bytes stay stored once. b is held
// (until ReleaseBlob) so that no GC takes it before the layer is
// registered.
func (st *Store) ExtractBlob(ctx context.Context, dir string, b Blob, diffID string) (Layer, error) {
	st.HoldBlob(b.Digest)
	rc, err := content.Open(ctx, st.content, digest.Digest(b.Digest))
	if err != nil {
		st.ReleaseBlob(b.Digest)
		return Layer{}, err
	}
	defer rc.Close()
	rd, _, err := archive.DecompressLayer(rc)
	if err != nil {
		st.ReleaseBlob(b.Digest)
		return Layer{}, errdefs.Invalid("layer blob %s: %s", b.Digest, err.Error())
	}
	defer rd.Close()
	res, err := archive.Extract(rd, dir, archive.Options{DiffID: diffID, Writeback: true})
	if err != nil {
		st.ReleaseBlob(b.Digest)
		return Layer{}, fmt.Errorf("layer blob %s: %w", b.Digest, err)
	}
	return Layer{DiffID: res.DiffID, Size: res.Size, TarSize: res.TarSize, Blob: &b}, nil
}

// HoldLayerByBlob finds a registered layer whose blob is d and holds it
// (until ReleaseLayers of chainID): the builder links its files instead of
// unpacking the blob again.
func (st *Store) HoldLayerByBlob(d string) (chainID, dir, diffID string, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	_ = st.db.Bolt().View(func(tx *bolt.Tx) error {
		return ForEachLayer(tx, func(k string, lr Layer) error {
			if !ok && lr.Blob != nil && lr.Blob.Digest == d && st.holdIfExistsLocked(tx, k) {
				chainID, diffID, ok = k, lr.DiffID, true
			}
			return nil
		})
	})
	if !ok {
		return "", "", "", false
	}
	return chainID, st.layout.LayerDir(chainID), diffID, true
}
