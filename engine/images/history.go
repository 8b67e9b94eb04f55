package images

import (
	"context"
	"encoding/json"

	"github.com/moby/moby/api/types/image"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/internal/errdefs"
)

// LayerDirs returns the extracted directories of img's layers, top first
// (for inspect's GraphDriver data).
func (s *Service) LayerDirs(img *Image) []string {
	out := make([]string, 0, len(img.Layers))
	for i := len(img.Layers) - 1; i >= 0; i-- {
		out = append(out, s.layerDir(img.Layers[i]))
	}
	return out
}

// InUse returns how many containers use the image (ContainerUsage's answer).
func (s *Service) InUse(imageID string) int { return len(s.usersOf(imageID)) }

// History returns the image's history, newest first, as `docker history`
// shows it: the entry of each local ancestor image carries its ID and tags,
// others "<missing>".
func (s *Service) History(ctx context.Context, ref string) ([]image.HistoryResponseItem, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := s.resolveLocked(ref)
	if rec == nil {
		return nil, errdefs.NotFound("No such image: %s", ref)
	}
	var cfg ConfigFile
	if err := json.Unmarshal(rec.Config, &cfg); err != nil {
		return nil, err
	}
	layerSizes := map[int]int64{}
	if recs, err := s.layerRecordsRLocked(rec.ChainIDs); err == nil {
		for i, l := range recs {
			layerSizes[i] = l.Size
		}
	}
	var out []image.HistoryResponseItem
	layer := 0
	for _, h := range cfg.History {
		item := image.HistoryResponseItem{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment}
		if h.Created != nil {
			item.Created = h.Created.Unix()
		}
		if !h.EmptyLayer {
			item.Size = layerSizes[layer]
			layer++
		}
		out = append([]image.HistoryResponseItem{item}, out...)
	}
	if len(out) == 0 {
		out = append(out, image.HistoryResponseItem{ID: rec.ID})
	}
	// As Docker: the newest entry is the image, the next its parent, and so
	// on for as long as the parents are known locally.
	for i, r := 0, rec; i < len(out) && r != nil; i, r = i+1, s.images[r.Parent] {
		out[i].ID = r.ID
		out[i].Tags, _ = s.refsOfLocked(r.ID)
		if r.Parent == "" {
			break
		}
	}
	return out, nil
}

// layerRecordsRLocked is layerRecords for callers holding s.mu.
func (s *Service) layerRecordsRLocked(chainIDs []string) ([]Layer, error) {
	var out []Layer
	err := s.db.Bolt().View(func(tx *bolt.Tx) error {
		for _, c := range chainIDs {
			r, _, err := snapshots.GetLayer(tx, c)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
