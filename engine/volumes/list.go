package volumes

import (
	"context"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/volume"

	"github.com/berth-dev/berth/internal/errdefs"
)

// listFilters are the filters `docker volume ls --filter` accepts.
var listFilters = map[string]bool{"dangling": true, "label": true, "name": true, "driver": true}

// List returns the volumes that match every filter: dangling=true|false (no
// container uses it), label=key or key=value, name=substring, driver=name.
// Several values of one filter are alternatives, as in Docker.
func (s *Service) List(ctx context.Context, filters map[string][]string) ([]*volume.Volume, error) {
	for k := range filters {
		if !listFilters[k] {
			return nil, errdefs.Invalid("invalid filter '%s'", k)
		}
	}
	dangling, err := danglingFilter(filters["dangling"])
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
		if !matchLabels(rec.Labels, filters["label"]) || !matchAny(filters["name"], func(v string) bool { return strings.Contains(rec.Name, v) }) ||
			!matchAny(filters["driver"], func(v string) bool { return rec.Driver == v }) {
			continue
		}
		out = append(out, s.toAPI(rec))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func danglingFilter(vals []string) (*bool, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	var b bool
	for i, v := range vals {
		var this bool
		switch strings.ToLower(v) {
		case "true", "1":
			this = true
		case "false", "0":
		default:
			return nil, errdefs.Invalid("invalid filter 'dangling=%s'", v)
		}
		if i > 0 && this != b {
			return nil, nil // dangling=true and dangling=false: everything matches
		}
		b = this
	}
	return &b, nil
}

func matchAny(vals []string, fn func(string) bool) bool {
	if len(vals) == 0 {
		return true
	}
	for _, v := range vals {
		if fn(v) {
			return true
		}
	}
	return false
}

// matchLabels: every label filter must match (Docker ANDs label filters).
func matchLabels(labels map[string]string, vals []string) bool {
	for _, v := range vals {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != want) {
			return false
		}
	}
	return true
}
