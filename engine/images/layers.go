package images

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/berth-dev/berth/engine/snapshots"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// layerExists reports whether chainID is registered or pending; if so it
// takes a hold on it. Caller holds s.mu.
func (s *Service) holdIfExistsLocked(tx *bolt.Tx, chainID string) bool {
	if p, ok := s.pending[chainID]; ok {
		p.holds++
		return true
	}
	if snapshots.HasLayer(tx, chainID) {
		s.pending[chainID] = &pendingLayer{holds: 1}
		// rec is empty: the layer is registered already; the entry only
		// keeps GC away until the hold is released.
		s.pending[chainID].rec.ChainID = ""
		return true
	}
	return false
}

// HoldLayer reports whether chainID is present (registered or pending) and,
// if so, holds it.
func (s *Service) HoldLayer(chainID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := false
	_ = s.db.Bolt().View(func(tx *bolt.Tx) error {
		ok = s.holdIfExistsLocked(tx, chainID)
		return nil
	})
	return ok
}

// EnsureLayer makes sure the layer chainID exists, extracting it with
// extract into a fresh private directory if not. It returns whether the
// layer was already there. On success the layer is held until
// ReleaseLayers; concurrent callers for the same chain ID wait for the one
// extracting it.
func (s *Service) EnsureLayer(ctx context.Context, chainID string, extract func(dir string) (Layer, error)) (existed bool, err error) {
	for {
		if s.HoldLayer(chainID) {
			return true, nil
		}
		s.mu.Lock()
		if f, ok := s.flights[chainID]; ok {
			s.mu.Unlock()
			select {
			case <-f.done:
				if f.err != nil {
					return false, f.err
				}
				continue
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}
		f := &flight{done: make(chan struct{})}
		s.flights[chainID] = f
		s.mu.Unlock()

		err := s.extractLayer(chainID, extract)
		s.mu.Lock()
		delete(s.flights, chainID)
		f.err = err
		close(f.done)
		s.mu.Unlock()
		return false, err
	}
}

func (s *Service) extractLayer(chainID string, extract func(dir string) (Layer, error)) error {
	tmp, err := os.MkdirTemp(s.root+"/tmp", "layer-")
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	rec, err := extract(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	rec.ChainID = chainID
	_, err = s.adoptLayer(tmp, rec)
	return err
}

// adoptLayer moves an extracted directory into place as layer rec.ChainID
// and holds it. If the layer exists already, tmp is removed and the existing
// one is held.
func (s *Service) adoptLayer(tmp string, rec Layer) (existed bool, err error) {
	if s.HoldLayer(rec.ChainID) {
		os.RemoveAll(tmp)
		return true, nil
	}
	// Make the files durable before the directory gets its real name.
	if f, err := os.Open(tmp); err == nil {
		_ = unix.Syncfs(int(f.Fd()))
		f.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dst := s.layerDir(rec.ChainID)
	if _, err := os.Lstat(dst); err == nil {
		// An unregistered leftover: not in the DB, not pending.
		if err := os.RemoveAll(dst); err != nil {
			os.RemoveAll(tmp)
			return false, err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return false, fmt.Errorf("move layer into place: %w", err)
	}
	s.pending[rec.ChainID] = &pendingLayer{rec: rec, holds: 1}
	return false, nil
}

// ReleaseLayers drops holds taken by EnsureLayer/adoptLayer/HoldLayer. A
// layer that ends up neither held nor registered is removed.
func (s *Service) ReleaseLayers(chainIDs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range chainIDs {
		p, ok := s.pending[c]
		if !ok {
			continue
		}
		p.holds--
		if p.holds > 0 {
			continue
		}
		delete(s.pending, c)
		registered := false
		_ = s.db.Bolt().View(func(tx *bolt.Tx) error {
			registered = snapshots.HasLayer(tx, c)
			return nil
		})
		if !registered {
			if err := s.trash(s.layerDir(c)); err != nil {
				s.log.Warn("remove unused layer", "chainID", c, "err", err)
			}
		}
	}
}

// registerImage records rec (and the pending layers of its chain) and points
// refs (normalized references) at it, in one transaction. Layers of the
// chain must be held by the caller.
func (s *Service) registerImage(rec *imageRecord, refs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.images[rec.ID]; ok {
		rec = old
	}
	err := s.db.Bolt().Update(func(tx *bolt.Tx) error {
		for _, c := range rec.ChainIDs {
			if snapshots.HasLayer(tx, c) {
				continue
			}
			p, ok := s.pending[c]
			if !ok || p.rec.ChainID == "" {
				return fmt.Errorf("layer %s is missing", c)
			}
			if err := snapshots.PutLayer(tx, p.rec); err != nil {
				return err
			}
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

// Layers returns the records of chainIDs (registered or pending).
func (s *Service) Layers(chainIDs []string) ([]Layer, error) {
	out := make([]Layer, 0, len(chainIDs))
	s.mu.RLock()
	defer s.mu.RUnlock()
	err := s.db.Bolt().View(func(tx *bolt.Tx) error {
		for _, c := range chainIDs {
			r, ok, err := snapshots.GetLayer(tx, c)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, r)
				continue
			}
			if p, ok := s.pending[c]; ok && p.rec.ChainID != "" {
				out = append(out, p.rec)
				continue
			}
			return fmt.Errorf("layer %s is missing", c)
		}
		return nil
	})
	return out, err
}
