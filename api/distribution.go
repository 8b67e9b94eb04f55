package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/engine/distribution"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/registry"
)

// DistributionBackend asks registries about images without pulling them.
type DistributionBackend interface {
	DistributionInspect(ctx context.Context, ref, registryAuth string) (*registry.DistributionInspect, error)
	Search(ctx context.Context, o distribution.SearchOptions) ([]registry.SearchResult, error)
}

func (s *Server) distributionRoutes() {
	if s.b.Distribution == nil {
		return
	}
	s.handle("GET /distribution/", s.getDistribution)
	s.handle("GET /images/search", s.getImagesSearch)
}

// getDistribution answers GET /distribution/{name}/json; the name may
// hold slashes, a port and a digest.
func (s *Server) getDistribution(w http.ResponseWriter, r *http.Request) error {
	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/distribution/"), "/json")
	if !ok || name == "" {
		return errdefs.NotFound("page not found")
	}
	out, err := s.b.Distribution.DistributionInspect(r.Context(), name, r.Header.Get("X-Registry-Auth"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// getImagesSearch answers `docker search` with dockerd's parameters and
// filter keys (is-official, is-automated, stars).
func (s *Server) getImagesSearch(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	o := distribution.SearchOptions{Term: q.Get("term"), RegistryAuth: r.Header.Get("X-Registry-Auth")}
	limit, err := intValue(r, "limit", 25)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 100 {
		return errdefs.Invalid("limit %d is outside the range of [1, 100]", limit)
	}
	o.Limit = limit
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	boolFilter := func(key string) (*bool, error) {
		vals := filters[key]
		if len(vals) == 0 {
			return nil, nil
		}
		b, err := strconv.ParseBool(vals[0])
		if err != nil {
			return nil, errdefs.Invalid("invalid filter '%s=%s'", key, vals[0])
		}
		return &b, nil
	}
	for k, vals := range filters {
		switch k {
		case "is-official":
			if o.Official, err = boolFilter(k); err != nil {
				return err
			}
		case "is-automated":
			if o.Automated, err = boolFilter(k); err != nil {
				return err
			}
		case "stars":
			n, err := strconv.Atoi(vals[0])
			if err != nil {
				return errdefs.Invalid("invalid filter 'stars=%s'", vals[0])
			}
			o.Stars = n
		default:
			return errdefs.Invalid("invalid filter '%s'", k)
		}
	}
	res, err := s.b.Distribution.Search(r.Context(), o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}
