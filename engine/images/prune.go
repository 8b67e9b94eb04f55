package images

import (
	"context"
	"strings"
	"time"
)

// Prune deletes unused images: untagged ones, or with all every image no
// container uses. filters: label / label! ("k" or "k=v"), until (a time
// or a duration). It returns what was deleted and the bytes reclaimed.
func (s *Service) Prune(ctx context.Context, all bool, filters map[string][]string) ([]DeleteResponse, uint64, error) {
	var until time.Time
	if v := filters["until"]; len(v) > 0 {
		if d, err := time.ParseDuration(v[0]); err == nil {
			until = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339Nano, v[0]); err == nil {
			until = t
		}
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
		if !labelsMatch(img.Config.Config.Labels, filters["label"], filters["label!"]) {
			continue
		}
		if len(s.usersOf(img.ID)) > 0 {
			continue
		}
		sizes := map[string]int64{}
		if recs, err := s.layerRecords(img.Layers); err == nil {
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

func labelsMatch(labels map[string]string, want, notWant []string) bool {
	has := func(f string) bool {
		k, v, hasValue := strings.Cut(f, "=")
		got, ok := labels[k]
		return ok && (!hasValue || got == v)
	}
	for _, f := range want {
		if !has(f) {
			return false
		}
	}
	for _, f := range notWant {
		if has(f) {
			return false
		}
	}
	return true
}
