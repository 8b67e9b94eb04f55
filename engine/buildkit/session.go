package buildkit

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// ServeSession hands the hijackable request to BuildKit's session manager
// (the client's file sync, secrets, ssh and output streams).
//
// The session lasts until its context ends. BuildKit's manager never sees
// the hijacked connection close (the request's context outlives it), so
// without help a session would end only when its gRPC health check, run
// every few seconds, fails to redial ("only one connection allowed") and
// logs that as a warning after every build. The connection's first read
// error (the client closing it) ends the session at once instead.
func (s *Service) ServeSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	in, err := s.start()
	if err != nil {
		return err
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return errors.New("the connection cannot be hijacked")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = in.sm.HandleHTTPRequest(ctx, sessionHijacker{ResponseWriter: w, hj: hj, end: cancel}, r)
	s.cfg.Log.Debug("BuildKit session ended", "session", r.Header.Get("X-Docker-Expose-Session-Uuid"), "err", err)
	return err
}

// sessionHijacker hands out the connection wrapped in a sessionConn.
type sessionHijacker struct {
	http.ResponseWriter
	hj  http.Hijacker
	end func()
}

func (h sessionHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := h.hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &sessionConn{Conn: c, end: h.end}, brw, nil
}

// sessionConn calls end once, when a read fails: the peer closed the
// connection, or BuildKit did.
type sessionConn struct {
	net.Conn
	end  func()
	once sync.Once
}

func (c *sessionConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.once.Do(c.end)
	}
	return n, err
}
