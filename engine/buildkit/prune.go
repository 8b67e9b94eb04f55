package buildkit

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
)

// PruneOptions is `docker builder prune` / `system prune` as /build/prune
// carries it.
type PruneOptions struct {
	All          bool
	KeepDuration time.Duration // "until": keep what was used more recently
	// ReservedSpace, MaxUsedSpace, MinFreeSpace are bytes (0: unset).
	ReservedSpace, MaxUsedSpace, MinFreeSpace int64
	// Filters are Docker's build cache filters other than "until": id,
	// parent, type, description (one value each) and inuse, shared,
	// private (true only).
	Filters map[string][]string
}

// pruneFilter turns Docker's filters into BuildKit's (containerd filter
// syntax, ANDed); what BuildKit cannot express is refused, not ignored.
func pruneFilter(f map[string][]string) (string, error) {
	var and []string
	for k, vals := range f {
		if len(vals) != 1 {
			return "", fmt.Errorf("build cache filter %q takes one value, got %d", k, len(vals))
		}
		v := vals[0]
		switch k {
		case "id", "type":
			and = append(and, k+"=="+strconv.Quote(v))
		case "parent":
			and = append(and, "parents~="+strconv.Quote(regexp.QuoteMeta(v)))
		case "description":
			and = append(and, "description~="+strconv.Quote(regexp.QuoteMeta(v)))
		case "inuse", "shared", "private":
			if b, err := strconv.ParseBool(v); err != nil || !b {
				return "", fmt.Errorf("build cache filter %q supports only the value true, got %q", k, v)
			}
			and = append(and, k)
		default:
			return "", fmt.Errorf("invalid filter %q", k)
		}
	}
	return strings.Join(and, ","), nil
}

// Prune removes build cache records as `docker builder prune` asks and
// returns their IDs and the bytes freed (nothing when BuildKit never ran
// on this data root).
func (s *Service) Prune(ctx context.Context, o PruneOptions) ([]string, uint64, error) {
	filter, err := pruneFilter(o.Filters)
	if err != nil {
		return nil, 0, err
	}
	if !s.started() && !s.hasState() {
		return nil, 0, nil
	}
	in, err := s.start()
	if err != nil {
		return nil, 0, err
	}
	if err := beforePrune(ctx, in.w, in.ctl, o.All); err != nil {
		return nil, 0, err
	}
	pi := client.PruneInfo{All: o.All, KeepDuration: o.KeepDuration, ReservedSpace: o.ReservedSpace, MaxUsedSpace: o.MaxUsedSpace, MinFreeSpace: o.MinFreeSpace}
	if filter != "" {
		pi.Filter = []string{filter}
	}
	ch := make(chan client.UsageInfo)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		errc <- in.w.Prune(ctx, ch, pi)
	}()
	var ids []string
	var freed uint64
	for u := range ch {
		ids = append(ids, u.ID)
		freed += uint64(u.Size)
	}
	if err := <-errc; err != nil {
		return ids, freed, err
	}
	// Blobs no record holds any more go with a GC pass, as buildkitd does.
	if err := in.w.GarbageCollect(ctx); err != nil {
		return ids, freed, err
	}
	return ids, freed, nil
}
