package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/berth-dev/berth/engine/buildkit"
	evengine "github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/filters"
	"github.com/moby/moby/api/types/events"

	"github.com/moby/moby/api/types/system"
)

// SystemBackend is what the system routes need from the daemon.
type SystemBackend interface {
	Info(ctx context.Context) (*system.Info, error)
	Version(ctx context.Context) system.VersionResponse
}

// EventsBackend is what the events route needs: the recorded events since
// a time and a subscription to new ones.
type EventsBackend interface {
	Subscribe(since time.Time) (past []events.Message, ch <-chan events.Message, cancel func())
}

func (s *Server) systemRoutes() {
	s.mux.HandleFunc("GET /_ping", s.ping)
	s.mux.HandleFunc("HEAD /_ping", s.ping)
	s.handle("GET /version", s.getVersion)
	s.handle("GET /info", s.getInfo)
	s.handle("GET /events", s.getEvents)
	s.handle("GET /system/df", s.getSystemDF)
	s.handle("POST /build/prune", s.postBuildPrune)
}

func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// 2: the docker CLI's buildx builds over /grpc and /session.
	if s.b.BuildKit != nil {
		h.Set("Builder-Version", "2")
	} else {
		h.Set("Builder-Version", "1")
	}
	h.Set("Docker-Experimental", "false")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	if r.Method == http.MethodHead {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("OK"))
}

// buildPruneFilterKeys are the filters Docker's build cache prune accepts.
var buildPruneFilterKeys = []string{"until", "id", "parent", "type", "description", "inuse", "shared", "private"}

// postBuildPrune answers `docker builder prune` and `system prune`: the
// classic builder's cache is made of ordinary images, which image prune
// removes; BuildKit's cache records are pruned with the filters and limits
// given. The filters are checked as Docker checks them, so a typo is a 400
// and not a silent "matched nothing".
func (s *Server) postBuildPrune(w http.ResponseWriter, r *http.Request) error {
	f, err := filtersValue(r)
	if err != nil {
		return err
	}
	if err := filters.Validate(f, buildPruneFilterKeys...); err != nil {
		return err
	}
	if _, err := filters.Until(f, "until", time.Now()); err != nil {
		return err
	}
	for _, k := range []string{"inuse", "shared", "private"} {
		if _, err := filters.Bool(f, k); err != nil {
			return err
		}
	}
	space := map[string]int64{}
	for _, k := range []string{"keep-storage", "reserved-space", "max-used-space", "min-free-space"} {
		if v := r.URL.Query().Get(k); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return errdefs.Invalid("invalid value for %s: %q", k, v)
			}
			space[k] = n
		}
	}
	if s.b.BuildKit == nil {
		return writeJSON(w, http.StatusOK, map[string]any{"CachesDeleted": []string{}, "SpaceReclaimed": 0})
	}
	until, _ := filters.Until(f, "until", time.Now())
	o := buildkit.PruneOptions{
		All:           r.URL.Query().Get("all") == "1" || r.URL.Query().Get("all") == "true",
		ReservedSpace: max(space["reserved-space"], space["keep-storage"]),
		MaxUsedSpace:  space["max-used-space"], MinFreeSpace: space["min-free-space"],
		Filters: map[string][]string{},
	}
	if !until.IsZero() {
		o.KeepDuration = time.Since(until)
	}
	for k, v := range f {
		if k != "until" {
			o.Filters[k] = v
		}
	}
	ids, freed, err := s.b.BuildKit.Prune(r.Context(), o)
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"CachesDeleted": ids, "SpaceReclaimed": freed})
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.b.System.Version(r.Context()))
}

func (s *Server) getInfo(w http.ResponseWriter, r *http.Request) error {
	info, err := s.b.System.Info(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// getEvents streams events as JSON messages: the recorded ones since
// `since`, then new ones until `until` or the client leaves.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) error {
	since, err := apiTime(r, "since")
	if err != nil {
		return err
	}
	until, err := apiTime(r, "until")
	if err != nil {
		return err
	}
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	if err := evengine.ValidateFilters(filters); err != nil {
		return err
	}
	if !since.IsZero() && !until.IsZero() && since.After(until) {
		return errdefs.Invalid("`since` time (%s) cannot be after `until` time (%s)", r.URL.Query().Get("since"), r.URL.Query().Get("until"))
	}
	past, ch, cancel := s.b.Events.Subscribe(since)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	send := func(m events.Message) bool {
		if !until.IsZero() && m.TimeNano > until.UnixNano() {
			return false
		}
		if evengine.Match(m, filters) {
			if enc.Encode(evengine.Wire147(m)) != nil {
				return false
			}
		}
		return true
	}
	for _, m := range past {
		if !send(m) {
			return nil
		}
	}
	if flusher != nil {
		flusher.Flush()
	}
	var deadline <-chan time.Time
	if !until.IsZero() {
		d := time.Until(until)
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		defer t.Stop()
		deadline = t.C
	}
	for {
		select {
		case m := <-ch:
			if !send(m) {
				return nil
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-deadline:
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}
