package api

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/moby/moby/api/types/build"

	"github.com/berth-dev/berth/engine/buildkit"
	"github.com/berth-dev/berth/internal/errdefs"
)

// BuildKitBackend is BuildKit inside berthd (*buildkit.Service): the
// control API buildx speaks over POST /grpc, the client session over POST
// /session, and the build cache /system/df reports.
type BuildKitBackend interface {
	// Start starts BuildKit if it is not running yet, so that a failure is
	// an HTTP error and not a dropped upgraded connection.
	Start() error
	ServeGRPC(conn net.Conn) error
	ServeSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error
	BuildCache(ctx context.Context) ([]build.CacheRecord, error)
	Prune(ctx context.Context, o buildkit.PruneOptions) (deleted []string, reclaimed uint64, err error)
	// Build runs a POST /build?version=2 build (context tar as the body);
	// status gets each encoded StatusResponse.
	Build(ctx context.Context, contextTar io.Reader, o buildkit.BuildOptions, status func([]byte)) (imageID string, err error)
}

// buildKitRoutes registers /grpc and /session (nil b: both are absent and
// _ping says Builder-Version 1, so buildx falls back as with an old dockerd).
func (s *Server) buildKitRoutes(b BuildKitBackend) {
	if b == nil {
		return
	}
	s.handle("POST /grpc", func(w http.ResponseWriter, r *http.Request) error {
		if err := b.Start(); err != nil {
			return err
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			return errdefs.Invalid("the connection cannot be hijacked")
		}
		conn, brw, err := hj.Hijack()
		if err != nil {
			return err
		}
		conn.SetDeadline(time.Time{})
		if _, err := conn.Write([]byte("HTTP/1.1 101 UPGRADE\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")); err != nil {
			conn.Close()
			return nil
		}
		hc := &hijackedConn{Conn: conn, r: brw.Reader}
		defer hc.Close()
		if err := b.ServeGRPC(hc); err != nil && s.log != nil {
			s.log.Warn("BuildKit control stream", "err", err)
		}
		return nil
	})
	s.handle("POST /session", func(w http.ResponseWriter, r *http.Request) error {
		if err := b.Start(); err != nil {
			return err
		}
		return b.ServeSession(r.Context(), deadlineFreeHijacker{w}, r)
	})
}

// deadlineFreeHijacker clears the request's read deadline on the hijacked
// connection: a build session lasts as long as the build.
type deadlineFreeHijacker struct{ http.ResponseWriter }

func (h deadlineFreeHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errdefs.Invalid("the connection cannot be hijacked")
	}
	c, brw, err := hj.Hijack()
	if err == nil {
		c.SetDeadline(time.Time{})
	}
	return c, brw, err
}
