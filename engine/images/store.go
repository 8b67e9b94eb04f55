package images

import (
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/internal/errdefs"
)

// The methods below are the image database as the registry client and the
// archive formats need it: references by their normalized form, an image's
// exact config bytes, and recording what arrived or left.

// RefTarget returns the image ID the normalized reference points at, or "".
func (s *Service) RefTarget(ref string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.refs[ref]
}

// HasImage reports whether an image with this exact ID is present.
func (s *Service) HasImage(id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.images[id] != nil
}

// References returns every normalized reference with the ID it points at,
// sorted by reference.
func (s *Service) References() []Reference {
	s.mu.RLock()
	out := make([]Reference, 0, len(s.refs))
	for r, id := range s.refs {
		out = append(out, Reference{Name: r, ImageID: id})
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Reference is one name of an image.
type Reference struct {
	Name    string // normalized: "docker.io/library/busybox:latest"
	ImageID string
}

// RawConfig returns the exact bytes of the image's config blob (its sha256
// is the ID) and the chain IDs of its layers, bottom first.
func (s *Service) RawConfig(id string) (raw []byte, chainIDs []string, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := s.images[id]
	if rec == nil {
		return nil, nil, errdefs.NotFound("No such image: %s", id)
	}
	return rec.Config, append([]string(nil), rec.ChainIDs...), nil
}

// AddReference points the normalized reference ref at image id, without an
// event (a digest learnt from a push).
func (s *Service) AddReference(ref, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.images[id] == nil {
		return errdefs.NotFound("No such image: %s", id)
	}
	if err := s.db.Bolt().Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketRefs)).Put([]byte(ref), []byte(id))
	}); err != nil {
		return fmt.Errorf("record reference %s: %w", ref, err)
	}
	s.refs[ref] = id
	return nil
}

// LogEvent records an image event (pull, push, ...) done by another engine
// package; see EventFunc. The image's labels are added when imageID names a
// known image.
func (s *Service) LogEvent(action, id, name, imageID string) { s.emit(action, id, name, imageID) }
