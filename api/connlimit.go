package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/errdefs"
)

// ServeLimits bound what clients can hold on one listener. A client that
// opens connections and sends nothing, or sends a body one byte a minute,
// must not exhaust berthd's file descriptors, and /_ping must answer
// throughout.
type ServeLimits struct {
	// MaxConns is the number of connections served normally. When it is
	// reached, the oldest connection that is between requests (idle
	// keep-alive, or still sending its headers) is closed to make room.
	MaxConns int
	// Reserve is the number of further connections accepted when every
	// normal slot is busy with a request; they may only ask /_ping (others
	// get a 503), so a health check answers during a flood.
	Reserve int
	// HeaderTimeout cuts a connection that has not sent its request
	// headers in time; IdleTimeout one idle between requests.
	HeaderTimeout, IdleTimeout time.Duration
	// BodyTimeout cuts a request whose body makes no progress for that
	// long. Hijacked streams and responses are not affected.
	BodyTimeout time.Duration
}

// DefaultServeLimits are berthd's defaults.
var DefaultServeLimits = ServeLimits{
	MaxConns: 2048, Reserve: 64,
	HeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, BodyTimeout: 60 * time.Second,
}

// NewHTTPServer returns an http.Server serving h on l within the limits,
// and the listener to pass to its Serve.
func NewHTTPServer(h http.Handler, l net.Listener, lim ServeLimits, base context.Context) (*http.Server, net.Listener) {
	cl := newConnLimiter(l, lim.MaxConns, lim.Reserve)
	srv := &http.Server{
		Handler:           bodyProgress(cl.guard(h), lim.BodyTimeout),
		ReadHeaderTimeout: lim.HeaderTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    1 << 20,
		ConnState:         cl.connState,
		ConnContext:       func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey, c) },
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	return srv, cl
}

type connKeyT struct{}

var connKey connKeyT

// connLimiter is a net.Listener that keeps count of the connections it
// handed out, and their HTTP state (from the server's ConnState hook). It
// returns the accepted connections unwrapped, so net/http still sees a
// *tls.Conn on TLS listeners. A hijacked connection leaves the count: it is
// a stream its client uses (attach, exec), not a request in progress.
type connLimiter struct {
	net.Listener
	max, reserve int

	mu    sync.Mutex
	conns map[net.Conn]*connInfo
	// normal and reserved count the open connections of each class.
	normal, reserved int
}

type connInfo struct {
	reserved bool
	state    http.ConnState
	since    time.Time
}

func newConnLimiter(l net.Listener, max, reserve int) *connLimiter {
	if max <= 0 {
		max = DefaultServeLimits.MaxConns
	}
	if reserve < 0 {
		reserve = 0
	}
	return &connLimiter{Listener: l, max: max, reserve: reserve, conns: map[net.Conn]*connInfo{}}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit(c) {
			return c, nil
		}
		c.Close()
	}
}

// admit places c in a normal slot, else in a reserve slot; when the class
// is full, the oldest connection of that class that is idle or still
// sending its headers is closed to make room. It refuses c (false) when
// every slot is busy with a request.
func (l *connLimiter) admit(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	info := &connInfo{state: http.StateNew, since: time.Now()}
	switch {
	case l.normal < l.max || l.evictLocked(false):
		l.normal++
	case l.reserved < l.reserve || (l.reserve > 0 && l.evictLocked(true)):
		l.reserved++
		info.reserved = true
	default:
		return false
	}
	l.conns[c] = info
	return true
}

// evictLocked closes the oldest idle or header-less connection of the
// class and releases its slot; false when there is none.
func (l *connLimiter) evictLocked(reserved bool) bool {
	var victim net.Conn
	var vi *connInfo
	for o, info := range l.conns {
		if info.reserved != reserved || (info.state != http.StateNew && info.state != http.StateIdle) {
			continue
		}
		if vi == nil || info.since.Before(vi.since) {
			victim, vi = o, info
		}
	}
	if victim == nil {
		return false
	}
	// Its Serve goroutine ends on the close; its StateClosed then finds
	// nothing left to release.
	l.releaseLocked(victim)
	go victim.Close()
	return true
}

func (l *connLimiter) releaseLocked(c net.Conn) {
	info, ok := l.conns[c]
	if !ok {
		return
	}
	delete(l.conns, c)
	if info.reserved {
		l.reserved--
	} else {
		l.normal--
	}
}

func (l *connLimiter) connState(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		l.releaseLocked(c)
	default:
		if info, ok := l.conns[c]; ok {
			info.state, info.since = st, time.Now()
		}
	}
}

func (l *connLimiter) release(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseLocked(c)
}

func (l *connLimiter) isReserved(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	info, ok := l.conns[c]
	return ok && info.reserved
}

// guard answers 503 to anything but /_ping on a reserve connection.
func (l *connLimiter) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey).(net.Conn); ok && l.isReserved(c) && !isPing(r.URL.Path) {
			// The connection closes after this answer: its reserve slot is
			// free now, not when the server gets round to the close, so a
			// client's next dial (a ping) finds room at once.
			l.release(c)
			w.Header().Set("Connection", "close")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{
				"message": fmt.Sprintf("too many connections: berthd serves %d at once; retry later", l.max)})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func isPing(p string) bool {
	if m := versionPrefix.FindStringSubmatch(p); m != nil {
		p = m[2]
	}
	return p == "/_ping"
}

// bodyProgress cuts a request whose body makes no progress for d: each Read
// of the body gets a fresh read deadline, cleared once the body is done, so
// a slow but moving upload goes on and a stalled one ends. Hijacked
// connections clear the deadline (see hijack).
func bodyProgress(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &progressBody{rc: r.Body, w: w, ctl: http.NewResponseController(w), d: d}
		}
		h.ServeHTTP(w, r)
	})
}

type progressBody struct {
	rc   io.ReadCloser
	w    http.ResponseWriter
	ctl  *http.ResponseController
	d    time.Duration
	done bool
}

func (b *progressBody) Read(p []byte) (int, error) {
	if b.done {
		return b.rc.Read(p)
	}
	b.ctl.SetReadDeadline(time.Now().Add(b.d))
	n, err := b.rc.Read(p)
	if err != nil {
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err) {
			// Keep the expired deadline and close after the answer:
			// net/http would otherwise wait to drain the rest of the body.
			b.w.Header().Set("Connection", "close")
			return n, errdefs.Invalid("request body made no progress for %s: cut", b.d)
		}
		b.ctl.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *progressBody) Close() error { return b.rc.Close() }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || strings.Contains(err.Error(), "i/o timeout")
}
