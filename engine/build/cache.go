package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/store"
)

// bucketCache maps a step's cache key to the image the step made.
const bucketCache = "build-cache"

// cacheKey identifies one build step: the parent image, the instruction as
// it ran (after substitution, with the build args RUN sees, as recorded in
// the history's CreatedBy) and, for COPY and ADD, the hash of the copied
// files' paths, contents, modes and owners. Equal keys make equal images.
func cacheKey(parentID, createdBy, contentHash string) string {
	h := sha256.New()
	for _, s := range []string{"berth-build-v1", parentID, createdBy, contentHash} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cacheLookup returns the image cached under key if it still exists.
func (s *Service) cacheLookup(ctx context.Context, key string) *images.Image {
	var id string
	if err := s.db.Get(bucketCache, key, &id); err != nil {
		return nil
	}
	img, err := s.b.Resolve(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			// The image was deleted: forget the entry.
			_ = s.db.Delete(bucketCache, key)
		}
		return nil
	}
	if img.ID != id {
		return nil
	}
	return img
}

func (s *Service) cacheStore(key, imageID string) {
	if err := s.db.Put(bucketCache, key, imageID); err != nil {
		s.log.Warn("store build cache entry", "err", err)
	}
}
