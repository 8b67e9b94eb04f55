package client

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// connTransport sends a request over the daemon's unix socket and reads
// its response on the calling goroutine. net/http's Transport dials in a
// goroutine of its own and then reads and writes each connection in two
// more, each hand-off a wake-up of another thread: a short berth command
// paid about 35 context switches and 30 page faults (the goroutines'
// stacks) for them. Requests with a streamed or large body (build
// contexts, image loads, archive uploads) still go through next, which
// reads the response while it writes the body.
type connTransport struct {
	dial func(context.Context) (net.Conn, error)
	next http.RoundTripper

	mu   sync.Mutex
	idle []*pconn
}

// maxIdleConns is how many connections connTransport keeps for reuse.
const maxIdleConns = 2

// maxDirectBody is the largest request body connTransport writes itself
// before reading the response: small enough to fit in the socket's
// buffer, so that the write completes even if the daemon answers (an
// error) without reading the body and closes the connection; a larger
// one goes through next, which reads the answer while it writes. JSON
// bodies are far smaller.
const maxDirectBody = 64 << 10

type pconn struct {
	net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// direct reports whether connTransport sends req itself: plain HTTP, no
// upgrade, and no body or a small one it can send again.
func direct(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.Header.Get("Upgrade") != "" {
		return false
	}
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	return req.GetBody != nil && req.ContentLength >= 0 && req.ContentLength <= maxDirectBody
}

// RoundTrip implements http.RoundTripper.
func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !direct(req) {
		return t.next.RoundTrip(req)
	}
	for {
		pc, reused, err := t.conn(req.Context())
		if err != nil {
			return nil, err
		}
		resp, err := t.send(pc, req)
		if err == nil || !reused || !errors.Is(err, errStaleConn) {
			return resp, err
		}
		// The daemon closed the kept connection before it took the
		// request: send it again on a new one.
		if req, err = rewound(req); err != nil {
			return nil, err
		}
	}
}

// errStaleConn is a kept connection found closed before the daemon took
// the request on it.
var errStaleConn = errors.New("connection closed by the daemon")

// rewound is req with a fresh copy of its body.
func rewound(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := *req
	r.Body = body
	return &r, nil
}

// conn is a kept connection, or a new one.
func (t *connTransport) conn(ctx context.Context) (pc *pconn, reused bool, err error) {
	t.mu.Lock()
	if n := len(t.idle); n > 0 {
		pc = t.idle[n-1]
		t.idle = t.idle[:n-1]
	}
	t.mu.Unlock()
	if pc != nil {
		return pc, true, nil
	}
	c, err := t.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	return &pconn{Conn: c, br: bufio.NewReader(c), bw: bufio.NewWriter(c)}, false, nil
}

// put keeps pc for the next request, or closes it.
func (t *connTransport) put(pc *pconn) {
	t.mu.Lock()
	if len(t.idle) < maxIdleConns {
		t.idle = append(t.idle, pc)
		pc = nil
	}
	t.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
}

// CloseIdleConnections closes the kept connections (and next's).
func (t *connTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, pc := range idle {
		_ = pc.Close()
	}
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// aLongTimeAgo is a deadline that makes a blocked read or write return.
var aLongTimeAgo = time.Unix(1, 0)

// send writes req on pc and reads the response's head; the body reads
// from pc until it is closed. A cancelled context interrupts both.
func (t *connTransport) send(pc *pconn, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	stop := context.AfterFunc(ctx, func() { _ = pc.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = pc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	err := req.Write(pc.bw)
	if err == nil {
		err = pc.bw.Flush()
	}
	if err != nil {
		return fail(errors.Join(errStaleConn, err))
	}
	resp, err := http.ReadResponse(pc.br, req)
	if err != nil {
		if err == io.EOF && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
			err = errors.Join(errStaleConn, err)
		}
		return fail(err)
	}
	b := &connBody{rc: resp.Body, t: t, pc: pc, stop: stop, ctx: ctx, keep: !resp.Close && !req.Close}
	if resp.Body == http.NoBody {
		b.eof = true
		b.release()
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// connBody is a response body read from a connTransport connection,
// which it keeps for the next request once read to its end and closed.
type connBody struct {
	rc   io.ReadCloser
	t    *connTransport
	pc   *pconn
	stop func() bool
	ctx  context.Context

	mu             sync.Mutex
	keep, eof, out bool
}

func (b *connBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.mu.Lock()
		b.eof = true
		b.mu.Unlock()
	} else if err != nil && b.ctx.Err() != nil {
		err = b.ctx.Err()
	}
	return n, err
}

// Close releases the connection: kept if the body was read to its end,
// closed otherwise. (Closed first then: net/http's body reads what is
// left of a body on Close, which for a stream such as `logs -f` never
// ends.)
func (b *connBody) Close() error {
	b.mu.Lock()
	eof := b.eof
	b.mu.Unlock()
	if !eof {
		b.release()
	}
	err := b.rc.Close()
	b.release()
	return err
}

func (b *connBody) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.out {
		return
	}
	b.out = true
	// stop is false once the context's deadline fired: the connection
	// is then unusable.
	if b.stop() && b.keep && b.eof && b.pc.br.Buffered() == 0 {
		b.t.put(b.pc)
		return
	}
	_ = b.pc.Close()
}
