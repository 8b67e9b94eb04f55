package images

import (
	"compress/gzip"
	"fmt"
	"io"

	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/internal/stringid"
	"github.com/google/go-containerregistry/pkg/v1/types"
	bolt "go.etcd.io/bbolt"
)

// CompressLayers replaces the uncompressed stored tarball of each layer
// with its gzip form (same diff ID, new blob), so pushes send gzip layers
// as Docker does and later pushes find the compressed blob ready.
func (s *Service) CompressLayers(chainIDs []string) error {
	recs, err := s.Layers(chainIDs)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Blob == nil || r.Blob.Digest != r.DiffID {
			continue // already compressed
		}
		f, err := s.openBlob(r.Blob.Digest)
		if err != nil {
			return fmt.Errorf("layer %s: %w", stringid.Short(r.DiffID), err)
		}
		bw, err := s.newBlob()
		if err != nil {
			f.Close()
			return err
		}
		zw, _ := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
		_, err = io.Copy(zw, f)
		f.Close()
		if err == nil {
			err = zw.Close()
		}
		if err != nil {
			bw.Close()
			return fmt.Errorf("compress layer %s: %w", stringid.Short(r.DiffID), err)
		}
		d := bw.Digest().String()
		size := bw.Size()
		s.HoldBlob(d)
		if err := commitBlob(bw, ""); err != nil {
			s.ReleaseBlob(d)
			return err
		}
		old := r.Blob.Digest
		s.mu.Lock()
		err = s.db.Bolt().Update(func(tx *bolt.Tx) error {
			cur, ok, err := snapshots.GetLayer(tx, r.ChainID)
			if err != nil || !ok {
				return err // !ok: removed meanwhile, GC takes the blob
			}
			if cur.Blob == nil || cur.Blob.Digest != cur.DiffID {
				return nil // compressed by a concurrent push
			}
			cur.Blob = &Blob{Digest: d, MediaType: string(types.DockerLayer), Size: size}
			if cur.TarSize == 0 {
				cur.TarSize = r.Blob.Size
			}
			cur.ChainID = r.ChainID
			return snapshots.PutLayer(tx, cur)
		})
		s.blobHolds[d]--
		if s.blobHolds[d] <= 0 {
			delete(s.blobHolds, d)
		}
		if err == nil && !s.blobUsedLocked(old) {
			if derr := s.deleteBlob(old); derr != nil {
				s.log.Warn("remove uncompressed layer blob", "digest", old, "err", derr)
			}
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}
