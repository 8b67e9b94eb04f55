package volumes

import (
	"context"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/volume"

	flt "github.com/berth-dev/berth/internal/filters"
)

// List returns the volumes that match every filter: dangling=true|false (no
// container uses it), label=key or key=value, name=substring, driver=name.
// Several values of one filter are alternatives, as in Docker.
func (s *Service) List(ctx context.Context, filters map[string][]string) ([]*volume.Volume, error) {
	if err := flt.Validate(filters, "dangling", "label", "name", "driver"); err != nil {
		return nil, err
	}
	dangling, err := flt.Bool(filters, "dangling")
	if err != nil {
		return nil, err
	}
	recs, err := s.all()
	if err != nil {
		return nil, err
	}
	out := []*volume.Volume{}
	for _, rec := range recs {
		if dangling != nil && (len(s.usersOf(rec.Name)) == 0) != *dangling {
			continue
		}
		if !flt.Labels(flt.Args{"label": filters["label"]}, rec.Labels) || !flt.Any(filters, "name", func(v string) bool { return strings.Contains(rec.Name, v) }) ||
			!flt.Any(filters, "driver", func(v string) bool { return rec.Driver == v }) {
			continue
		}
		out = append(out, s.toAPI(rec))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
