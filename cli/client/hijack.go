package client

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// HijackedResponse is an upgraded connection (attach, exec): raw stream
// or, without a TTY, stdcopy-multiplexed.
type HijackedResponse struct {
	mediaType string
	Conn      net.Conn
	Reader    *bufio.Reader
}

// NewHijackedResponse wraps an upgraded connection.
func NewHijackedResponse(conn net.Conn, mediaType string) HijackedResponse {
	return HijackedResponse{Conn: conn, Reader: bufio.NewReader(conn), mediaType: mediaType}
}

// Close closes the connection.
func (h *HijackedResponse) Close() { _ = h.Conn.Close() }

// MediaType is the response's Content-Type, if the daemon sent one.
func (h *HijackedResponse) MediaType() (string, bool) {
	return h.mediaType, h.mediaType != ""
}

// CloseWriter is a connection that can half-close.
type CloseWriter interface {
	CloseWrite() error
}

// CloseWrite half-closes the connection when it can (stdin's end).
func (h *HijackedResponse) CloseWrite() error {
	if cw, ok := h.Conn.(CloseWriter); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *Client) postHijacked(ctx context.Context, p string, q url.Values, headers http.Header, body any) (HijackedResponse, error) {
	r, err := jsonEncode(body)
	if err != nil {
		return HijackedResponse{}, err
	}
	req, err := c.buildRequest(ctx, http.MethodPost, c.apiPath(ctx, p, q), headers, r)
	if err != nil {
		return HijackedResponse{}, err
	}
	conn, mediaType, err := c.setupHijackConn(req, "tcp")
	if err != nil {
		return HijackedResponse{}, err
	}
	return NewHijackedResponse(conn, mediaType), nil
}

// DialHijack upgrades a POST to url to protocol proto (BuildKit's
// sessions and gRPC) and returns the raw connection.
func (c *Client) DialHijack(ctx context.Context, url, proto string, meta map[string][]string) (net.Conn, error) {
	req, err := c.buildRequest(ctx, http.MethodPost, url, meta, http.NoBody)
	if err != nil {
		return nil, err
	}
	conn, _, err := c.setupHijackConn(req, proto)
	return conn, err
}

func (c *Client) setupHijackConn(req *http.Request, proto string) (retConn net.Conn, mediaType string, retErr error) {
	ctx := req.Context()
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", proto)
	conn, err := c.Dialer()(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("cannot connect to the Docker daemon. Is 'docker daemon' running on this host?: %w", err)
	}
	defer func() {
		if retErr != nil {
			_ = conn.Close()
		}
	}()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetKeepAlive(true)
		_ = tc.SetKeepAlivePeriod(30 * time.Second)
	}
	hc := &hijackedConn{Conn: conn, r: bufio.NewReader(conn)}
	cancelled := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = hc.Conn.Close()
		close(cancelled)
	})
	defer func() {
		if !stop() {
			<-cancelled
			retConn, mediaType, retErr = nil, "", ctx.Err()
		}
	}()
	if err := req.Write(hc.Conn); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(hc.r, req)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_ = resp.Body.Close()
		return nil, "", fmt.Errorf("unable to upgrade to %s, received %d", proto, resp.StatusCode)
	}
	if hc.r.Buffered() > 0 {
		if _, ok := hc.Conn.(CloseWriter); ok {
			conn = &hijackedConnCloseWriter{hc}
		} else {
			conn = hc
		}
	} else {
		hc.r.Reset(nil)
	}
	return conn, resp.Header.Get("Content-Type"), nil
}

// hijackedConn reads first what the response reader buffered.
type hijackedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *hijackedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

type hijackedConnCloseWriter struct{ *hijackedConn }

func (c *hijackedConnCloseWriter) CloseWrite() error {
	return c.Conn.(CloseWriter).CloseWrite()
}
