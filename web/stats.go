package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/api/types/container"
)

// Live usage for the page's lists and charts comes over one WebSocket:
// a browser holds only six HTTP connections per host, too few for a
// stats stream per container. The page sends {"ids":[...]} (the
// containers it shows); berthd runs GET /containers/{id}/stats through
// the API handler for each and sends a small sample per reading.

// maxStatsWatch bounds the containers one page may watch at once.
const maxStatsWatch = 500

// Sample is one reading of a container's usage, as the page draws it.
type Sample struct {
	ID       string  `json:"id"`
	T        int64   `json:"t"` // unix milliseconds of the reading
	CPU      float64 `json:"cpu"`
	Mem      uint64  `json:"mem"`
	MemLimit uint64  `json:"memLimit"`
	Rx       uint64  `json:"rx"`
	Tx       uint64  `json:"tx"`
	BlkRead  uint64  `json:"blkRead"`
	BlkWrite uint64  `json:"blkWrite"`
}

// sampleOf reduces a stats reading the way `docker stats` computes its
// columns: CPU from the deltas to the previous reading, memory without
// the page cache that can be reclaimed.
func sampleOf(id string, st *container.StatsResponse) Sample {
	s := Sample{ID: id, T: st.Read.UnixMilli(), MemLimit: st.MemoryStats.Limit}
	cpuDelta := float64(st.CPUStats.CPUUsage.TotalUsage) - float64(st.PreCPUStats.CPUUsage.TotalUsage)
	sysDelta := float64(st.CPUStats.SystemUsage) - float64(st.PreCPUStats.SystemUsage)
	n := float64(st.CPUStats.OnlineCPUs)
	if n == 0 {
		n = float64(len(st.CPUStats.CPUUsage.PercpuUsage))
	}
	if cpuDelta > 0 && sysDelta > 0 {
		s.CPU = cpuDelta / sysDelta * n * 100
	}
	s.Mem = st.MemoryStats.Usage
	for _, k := range []string{"inactive_file", "total_inactive_file"} {
		if v, ok := st.MemoryStats.Stats[k]; ok && v < s.Mem {
			s.Mem -= v
			break
		}
	}
	for _, n := range st.Networks {
		s.Rx += n.RxBytes
		s.Tx += n.TxBytes
	}
	for _, e := range st.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(e.Op) {
		case "read":
			s.BlkRead += e.Value
		case "write":
			s.BlkWrite += e.Value
		}
	}
	return s
}

func (s *Server) statsWS(w http.ResponseWriter, r *http.Request, _ *session) {
	ws, err := s.upgrade(w, r)
	if err != nil {
		return
	}
	defer ws.Close()
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	send := func(v Sample) {
		if ws.send(func(c *websocket.Conn) error { return c.WriteJSON(v) }) != nil {
			cancel()
		}
	}
	watching := map[string]context.CancelFunc{}
	defer func() {
		for _, c := range watching {
			c()
		}
	}()
	for {
		var msg struct{ IDs []string }
		if err := ws.ReadJSON(&msg); err != nil {
			return
		}
		want := map[string]bool{}
		for _, id := range msg.IDs {
			if len(want) < maxStatsWatch && id != "" {
				want[id] = true
			}
		}
		for id, stop := range watching {
			if !want[id] {
				stop()
				delete(watching, id)
			}
		}
		for id := range want {
			if watching[id] == nil {
				cctx, stop := context.WithCancel(ctx)
				watching[id] = stop
				go s.streamStats(cctx, id, send)
			}
		}
	}
}

// streamStats follows one container's stats through the API handler
// until ctx ends or the container stops.
func (s *Server) streamStats(ctx context.Context, id string, send func(Sample)) {
	pr, pw := io.Pipe()
	go func() {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/containers/"+url.PathEscape(id)+"/stats?stream=1", nil)
		s.opts.API.ServeHTTP(&streamWriter{w: pw, h: http.Header{}}, req)
		pw.Close()
	}()
	defer pr.Close()
	dec := json.NewDecoder(pr)
	for {
		var st container.StatsResponse
		if err := dec.Decode(&st); err != nil {
			return
		}
		if st.Read.IsZero() {
			continue // an error body, or a container that is not running
		}
		send(sampleOf(id, &st))
	}
}

// streamWriter hands what a streaming handler writes to a pipe; a status
// other than 200 ends the stream.
type streamWriter struct {
	w    *io.PipeWriter
	h    http.Header
	code int
}

func (s *streamWriter) Header() http.Header { return s.h }
func (s *streamWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}
func (s *streamWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	if s.code != http.StatusOK {
		return len(b), nil
	}
	return s.w.Write(b)
}
func (s *streamWriter) Flush() {}
