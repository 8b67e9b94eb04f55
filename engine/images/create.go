package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/internal/errdefs"
)

// CreateImage serializes cfg and registers it as an image (as
// CreateImageRaw) under parent and the normalized references refs: the
// image `docker import`, `docker commit` and the builder make.
func (s *Service) CreateImage(cfg *ConfigFile, parent string, refs []string) (*Image, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return s.CreateImageRaw(raw, parent, refs, "")
}

// CreateImageRaw registers the image whose config blob is raw. Its layers,
// listed by the config's diff IDs, must be registered or held in the layer
// store (LayerStore); the held ones are registered with the image, in one
// transaction. repoDigest, if set, is a normalized "name@sha256:..."
// reference for it.
func (s *Service) CreateImageRaw(raw []byte, parent string, refs []string, repoDigest string) (*Image, error) {
	var cfg ConfigFile
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, errdefs.Invalid("invalid image config: %s", err.Error())
	}
	var diffIDs []string
	for _, d := range cfg.RootFS.DiffIDs {
		diffIDs = append(diffIDs, d.String())
	}
	chain := snapshots.ChainIDs(diffIDs)
	layers, err := s.layers.Layers(chain)
	if err != nil {
		return nil, err
	}
	var size int64
	for _, l := range layers {
		size += l.Size
	}
	sum := sha256.Sum256(raw)
	rec := &imageRecord{
		ID:       "sha256:" + hex.EncodeToString(sum[:]),
		Config:   raw,
		Parent:   parent,
		ChainIDs: chain,
		Size:     size,
		Added:    time.Now().UTC(),
	}
	if repoDigest != "" {
		refs = append(refs, repoDigest)
	}
	if err := s.registerImage(rec, refs); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.toImageLocked(s.images[rec.ID]), nil
}

// registerImage records rec (and the held layers of its chain) and points
// refs (normalized references) at it, in one transaction. Layers of the
// chain must be held by the caller.
func (s *Service) registerImage(rec *imageRecord, refs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.images[rec.ID]; ok {
		rec = old
	}
	err := s.db.Bolt().Update(func(tx *bolt.Tx) error {
		if err := s.layers.RegisterTx(tx, rec.ChainIDs); err != nil {
			return err
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := tx.Bucket([]byte(bucketImages)).Put([]byte(rec.ID), data); err != nil {
			return err
		}
		rb := tx.Bucket([]byte(bucketRefs))
		for _, r := range refs {
			if err := rb.Put([]byte(r), []byte(rec.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.images[rec.ID] = rec
	for _, r := range refs {
		s.refs[r] = rec.ID
	}
	return nil
}

// imageLayersLocked returns the chain IDs the images (except skipImage)
// use, for the layer store's "is this layer still used".
func (s *Service) imageLayersLocked(skipImage string) map[string]bool {
	used := map[string]bool{}
	for id, rec := range s.images {
		if id == skipImage {
			continue
		}
		for _, c := range rec.ChainIDs {
			used[c] = true
		}
	}
	return used
}

// GCResult says what a garbage collection pass removed.
type GCResult = snapshots.GCResult

// GC removes exactly what nothing references: layer records no image,
// container layer or operation in progress uses; layer directories without a
// record; blobs no layer uses. It is an explicit pass (run on open, after
// prune), never a side effect of reads.
func (s *Service) GC(ctx context.Context) (GCResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.layers.GCLocked(ctx, s.imageLayersLocked(""))
}
