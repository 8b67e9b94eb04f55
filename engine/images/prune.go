package images

import (
	"context"
	"time"

	"github.com/berth-dev/berth/internal/filters"
)

// Prune deletes unused images: untagged ones, or with all every image no
// container uses. filters: label / label! ("k" or "k=v"), until (a time
// or a duration). It returns what was deleted and the bytes reclaimed.
// An unknown key or an unparseable until is refused before anything is
// deleted.
func (s *Service) Prune(ctx context.Context, all bool, f map[string][]string) ([]DeleteResponse, uint64, error) {
	if err := filters.Validate(f, "label", "label!", "until"); err != nil {
		return nil, 0, err
	}
	until, err := filters.Until(f, "until", time.Now())
	if err != nil {
		return nil, 0, err
	}
	list, err := s.List(ctx, true)
	if err != nil {
		return nil, 0, err
	}
	parents := map[string]bool{}
	for _, img := range list {
		if img.Parent != "" {
			parents[img.Parent] = true
		}
	}
	var out []DeleteResponse
	var space uint64
	for _, img := range list {
		if parents[img.ID] || (!all && (len(img.RepoTags) > 0 || len(img.RepoDigests) > 0)) {
			continue
		}
		if !until.IsZero() && !img.Created.Before(until) {
			continue
		}
		if !filters.Labels(f, img.Config.Config.Labels) {
			continue
		}
		if len(s.usersOf(img.ID)) > 0 {
			continue
		}
		sizes := map[string]int64{}
		if recs, err := s.layers.Layers(img.Layers); err == nil {
			for _, r := range recs {
				sizes[r.ChainID] = r.Size
			}
		}
		resp, err := s.Delete(ctx, img.ID, true, true)
		if err != nil {
			s.log.Debug("prune: skip image", "id", img.ID, "err", err)
			continue
		}
		for _, r := range resp {
			space += uint64(sizes[r.Deleted])
		}
		out = append(out, resp...)
	}
	if res, err := s.GC(ctx); err == nil {
		space += uint64(res.SpaceReclaimed)
	}
	return out, space, nil
}
