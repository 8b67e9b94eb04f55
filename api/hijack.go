package api

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/version"
)

// hijackedConn is the client's connection after the HTTP upgrade, with any
// bytes the server already buffered served first.
type hijackedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *hijackedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes the connection so the client sees the end of the
// output while it may still send input.
func (c *hijackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// hijack takes over the connection for a raw stream (attach, exec start),
// answering 101 when the client asked for an upgrade, 200 otherwise, as
// Docker does. contentType tells the docker CLI how the stream is framed.
func hijack(w http.ResponseWriter, r *http.Request, multiplexed bool) (*hijackedConn, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errdefs.Invalid("the connection cannot be hijacked")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	// A hijacked stream lives as long as it is used: drop the body-progress
	// read deadline the request may still carry.
	conn.SetDeadline(time.Time{})
	ct := "application/vnd.docker.raw-stream"
	if multiplexed {
		ct = "application/vnd.docker.multiplexed-stream"
	}
	upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "tcp") || strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
	var head string
	if upgrade {
		head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + ct + "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	} else {
		head = "HTTP/1.1 200 OK\r\nContent-Type: " + ct + "\r\n"
	}
	head += "Api-Version: " + APIVersion + "\r\nServer: Berth/" + version.Version + " (linux)\r\n\r\n"
	if _, err := conn.Write([]byte(head)); err != nil {
		conn.Close()
		return nil, err
	}
	return &hijackedConn{Conn: conn, r: brw.Reader}, nil
}
