package images

import (
	"context"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/snapshots"
)

// GCResult says what a garbage collection pass removed.
type GCResult struct {
	Layers         []string // chain IDs
	Blobs          []string // digests
	SpaceReclaimed int64
}

// GC removes exactly what nothing references: layer records no image,
// container layer or operation in progress uses; layer directories without a
// record; blobs no layer uses. It is an explicit pass (run on open, after
// prune), never a side effect of reads.
func (s *Service) GC(ctx context.Context) (GCResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res GCResult
	registered := map[string]bool{}
	blobs := map[string]bool{}
	err := s.db.Bolt().Update(func(tx *bolt.Tx) error {
		used, err := s.usedLayersLocked(tx, "")
		if err != nil {
			return err
		}
		var drop []string
		if err := snapshots.ForEachLayer(tx, func(k string, lr Layer) error {
			if !used[k] {
				drop = append(drop, k)
				res.Layers = append(res.Layers, k)
				res.SpaceReclaimed += lr.Size
				return nil
			}
			registered[k] = true
			if lr.Blob != nil {
				blobs[lr.Blob.Digest] = true
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range drop {
			if err := snapshots.DeleteLayer(tx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	for c, p := range s.pending {
		registered[c] = true
		if p.rec.Blob != nil {
			blobs[p.rec.Blob.Digest] = true
		}
	}
	for c := range s.flights {
		registered[c] = true
	}
	for d := range s.blobHolds {
		blobs[d] = true
	}
	ents, _ := os.ReadDir(s.snap.LayersDir())
	for _, e := range ents {
		if registered["sha256:"+e.Name()] {
			continue
		}
		if err := s.trash(filepath.Join(s.snap.LayersDir(), e.Name())); err != nil {
			s.log.Warn("gc: remove layer directory", "dir", e.Name(), "err", err)
		}
	}
	kept, ok := s.keptElsewhere(ctx)
	var unused []content.Info
	_ = s.content.Walk(ctx, func(i content.Info) error {
		if ok && !blobs[i.Digest.String()] && !kept[i.Digest.String()] {
			unused = append(unused, i)
		}
		return nil
	})
	for _, i := range unused {
		if err := s.content.Delete(ctx, i.Digest); err == nil {
			res.SpaceReclaimed += i.Size
			res.Blobs = append(res.Blobs, i.Digest.String())
		}
	}
	if len(res.Layers)+len(res.Blobs) > 0 {
		s.log.Info("image gc", "layers", len(res.Layers), "blobs", len(res.Blobs))
	}
	return res, nil
}
