package containers

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/berth-dev/berth/engine/mounts"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// ListOptions mirrors the list endpoint's query.
type ListOptions struct {
	All     bool
	Limit   int
	Size    bool
	Filters map[string][]string
}

// listing is one list's pass over the containers' rows.
type listing struct {
	s   *Service
	o   ListOptions
	now time.Time
	// netGen is the network service's Gen as the list began: a row's
	// cached JSON made with it still holds.
	netGen uint64
}

// listRows returns the rows the list shows, newest first, as `ps` shows
// them; it takes no container's lock.
func (s *Service) listRows(ctx context.Context, o ListOptions) (*listing, []*listRow, error) {
	lf, err := s.newListFilter(ctx, o.Filters)
	if err != nil {
		return nil, nil, err
	}
	if len(o.Filters["status"]) > 0 || len(o.Filters["exited"]) > 0 || o.Limit > 0 {
		// As in Docker, a status filter or a limit (ps -n, -l) shows
		// stopped containers too.
		o.All = true
	}
	l := &listing{s: s, o: o, now: time.Now()}
	if s.net != nil {
		l.netGen = s.net.Gen()
	}
	all := s.all()
	rows := make([]*listRow, 0, len(all))
	for _, e := range all {
		r := e.row.Load()
		if !o.All && !r.c.State.Running() {
			continue
		}
		if !lf.matchRow(s, r) {
			continue
		}
		rows = append(rows, r)
		if o.Limit > 0 && len(rows) >= o.Limit {
			break
		}
	}
	return l, rows, nil
}

// matchRow applies the filter set to a row; only a network filter needs
// the container's network settings.
func (lf *listFilter) matchRow(s *Service, r *listRow) bool {
	var nets map[string]*network.EndpointSettings
	if len(lf.networks) > 0 {
		nets = s.networkSettings(&r.c).Networks
	}
	return lf.match(&r.c, r.healthStatus(), nets)
}

// List returns containers newest first, as `ps` shows them.
func (s *Service) List(ctx context.Context, o ListOptions) ([]container.Summary, error) {
	l, rows, err := s.listRows(ctx, o)
	if err != nil {
		return nil, err
	}
	// Sized up front: a Summary is large, and growing the list by
	// doubling was a third of what listing 200 containers allocated.
	out := make([]container.Summary, 0, len(rows))
	for _, r := range rows {
		sum := s.summary(r)
		sum.Status = l.status(r)
		sum.SizeRw, sum.SizeRootFs = l.sizes(ctx, r)
		out = append(out, sum)
	}
	return out, nil
}

// ListJSON is List's reply as the API sends it: the bytes json.Encoder
// writes of List's result. Each row's JSON is kept with the row for the
// next list, but for its status (it counts time) and sizes.
func (s *Service) ListJSON(ctx context.Context, o ListOptions, buf []byte) ([]byte, error) {
	l, rows, err := s.listRows(ctx, o)
	if err != nil {
		return nil, err
	}
	buf = append(buf, '[')
	for i, r := range rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		enc := r.enc.Load()
		if enc == nil || enc.netGen != l.netGen {
			if enc, err = encodeRow(s.summary(r)); err != nil {
				return nil, err
			}
			enc.netGen = l.netGen
			r.enc.Store(enc)
		}
		rw, total := l.sizes(ctx, r)
		buf = enc.append(buf, l.status(r), rw, total)
	}
	return append(buf, ']', '\n'), nil
}

// summary is the row's list entry but for its status and sizes.
func (s *Service) summary(r *listRow) container.Summary {
	c := &r.c
	ns := s.networkSettings(c)
	sum := container.Summary{
		ID:      c.ID,
		Names:   []string{"/" + c.Name},
		Image:   c.Config.Image,
		ImageID: c.ImageID,
		Command: commandText(c),
		Created: c.Created.Unix(),
		Ports:   portSummaries(ns.Ports),
		Labels:  c.Config.Labels,
		State:   container.ContainerState(c.State.Status),
		Health:  r.health,
		Mounts:  mounts.ToAPI(c.MountPoints, s.vols),
	}
	sum.NetworkSettings = &container.NetworkSettingsSummary{Networks: ns.Networks}
	sum.HostConfig.NetworkMode = string(c.HostConfig.NetworkMode)
	return sum
}

// status is the row's STATUS text.
func (l *listing) status(r *listRow) string {
	return statusText(r.c.State, l.now) + healthSuffix(r.health)
}

// sizes are the row's SizeRw and SizeRootFs when the list asks for them.
func (l *listing) sizes(ctx context.Context, r *listRow) (rw, total int64) {
	if !l.o.Size {
		return 0, 0
	}
	if rw, total, err := l.s.images.RootfsSize(ctx, r.c.ID); err == nil {
		return rw, total
	}
	return 0, 0
}

// rowJSON is a list entry's JSON (json.Marshal's bytes of its Summary)
// cut around what changes without its row: head ends with the ports, the
// sizes follow when set, then mid up to the status's key, the status,
// and tail.
type rowJSON struct {
	netGen          uint64
	head, mid, tail []byte
}

// encodeRow encodes sum but for its status and sizes. The parts are
// Summary's fields in its order, each encoded as json.Marshal does within
// the whole (TestRowJSONAsMarshal holds them to it).
func encodeRow(sum container.Summary) (*rowJSON, error) {
	head, err := json.Marshal(struct {
		ID      string `json:"Id"`
		Names   []string
		Image   string
		ImageID string
		Command string
		Created int64
		Ports   []container.PortSummary
	}{sum.ID, sum.Names, sum.Image, sum.ImageID, sum.Command, sum.Created, sum.Ports})
	if err != nil {
		return nil, err
	}
	mid, err := json.Marshal(struct {
		Labels map[string]string
		State  container.ContainerState
	}{sum.Labels, sum.State})
	if err != nil {
		return nil, err
	}
	tail, err := json.Marshal(struct {
		HostConfig      any
		Health          *container.HealthSummary `json:",omitempty"`
		NetworkSettings *container.NetworkSettingsSummary
		Mounts          []container.MountPoint
	}{sum.HostConfig, sum.Health, sum.NetworkSettings, sum.Mounts})
	if err != nil {
		return nil, err
	}
	mid[0] = ','
	tail[0] = ','
	return &rowJSON{
		head: head[:len(head)-1],
		mid:  append(mid[:len(mid)-1], `,"Status":`...),
		tail: tail,
	}, nil
}

// append appends the entry with status and sizes (zero: left out).
func (j *rowJSON) append(buf []byte, status string, rw, total int64) []byte {
	buf = append(buf, j.head...)
	if rw != 0 {
		buf = strconv.AppendInt(append(buf, `,"SizeRw":`...), rw, 10)
	}
	if total != 0 {
		buf = strconv.AppendInt(append(buf, `,"SizeRootFs":`...), total, 10)
	}
	buf = append(buf, j.mid...)
	buf = appendJSONString(buf, status)
	return append(buf, j.tail...)
}

// appendJSONString appends s as json.Marshal encodes it: as it is when
// it has nothing to escape (a status text never has).
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
