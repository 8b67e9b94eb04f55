package containers

import (
	"context"
	"errors"
	evtypes "github.com/moby/moby/api/types/events"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/monitor"
)

// Stream is the client's side of a hijacked connection.
type Stream interface {
	io.ReadWriteCloser
	// CloseWrite ends the output towards the client, keeping input open.
	CloseWrite() error
}

// AttachOptions mirrors the attach endpoint's query.
type AttachOptions struct {
	Stdin, Stdout, Stderr bool
	Stream                bool
	Logs                  bool
	// DetachKeys is Docker's "ctrl-p,ctrl-q" notation; "" uses the default.
	DetachKeys string
}

// attachSession is one client attached to one container. It is registered
// before the API answers the client (so a start the client sends right
// after cannot run first and lose output); the client's connection arrives
// with Serve, and copying waits for it.
type attachSession struct {
	svc       *Service
	opts      AttachOptions
	client    Stream
	ready     chan struct{} // closed once client is set
	detach    []byte
	onDetach  func() // records the "detach" event
	stdinOnce bool
	once      sync.Once
	done      chan struct{}
}

// AttachHandle is a registered attach session.
type AttachHandle struct {
	s *Service
	e *entry
	a *attachSession
}

// AttachRegister validates an attach request and registers the session: on
// a running container it connects at once, otherwise at the next start
// (`docker start -a` and `docker run` attach first), as Docker does. tty
// tells the API how the stream is framed.
func (s *Service) AttachRegister(ref string, o AttachOptions) (h *AttachHandle, tty bool, err error) {
	e, err := s.lookup(ref)
	if err != nil {
		return nil, false, err
	}
	keys, err := ParseDetachKeys(o.DetachKeys)
	if err != nil {
		return nil, false, err
	}
	// While the container is being prepared it is created and stays so
	// (aheadlock.go): the session waits for the start without waiting
	// for the preparation.
	var a *attachSession
	if e.duringPrep(func(st *aheadState) {
		a = s.newAttachSession(e, &st.rec, o, keys)
		if o.Stream {
			st.attach = append(st.attach, a)
		}
		tty = st.rec.Config.Tty
	}) {
		return &AttachHandle{s: s, e: e, a: a}, tty, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c.State.Status == StatusPaused {
		return nil, false, errdefs.Conflict("You cannot attach to a paused container, unpause it first")
	}
	a = s.newAttachSession(e, &e.c, o, keys)
	if o.Stream {
		if e.c.State.Status == StatusRunning {
			a.connect(s.stateDir(e.c.ID))
		} else {
			e.pendingAttach = append(e.pendingAttach, a)
		}
	}
	return &AttachHandle{s: s, e: e, a: a}, e.c.Config.Tty, nil
}

// newAttachSession makes a session of e, whose record is c, and records
// the "attach" event. Caller holds e.mu, or e.amu during a preparation.
func (s *Service) newAttachSession(e *entry, c *Container, o AttachOptions, keys []byte) *attachSession {
	a := &attachSession{svc: s, opts: o, ready: make(chan struct{}), detach: keys, stdinOnce: c.Config.StdinOnce, done: make(chan struct{})}
	a.onDetach = func() {
		e.mu.Lock()
		c := e.c
		e.mu.Unlock()
		s.emit(&c, evtypes.ActionDetach, nil)
	}
	s.emit(c, evtypes.ActionAttach, nil)
	return a
}

// Serve runs the session over the client's connection and blocks until the
// container's run ends, the client detaches, or the client goes away.
func (h *AttachHandle) Serve(ctx context.Context, client Stream) error {
	a, e := h.a, h.e
	if a.opts.Logs {
		e.mu.Lock()
		hasLog := e.c.LogPath != ""
		e.mu.Unlock()
		if hasLog {
			if err := h.s.writeLogs(ctx, e, client, LogsOptions{Stdout: a.opts.Stdout, Stderr: a.opts.Stderr, Tail: -1}); err != nil {
				h.Cancel()
				return err
			}
		}
	}
	a.client = client
	close(a.ready)
	if !a.opts.Stream {
		a.end()
		return nil
	}
	select {
	case <-a.done:
	case <-ctx.Done():
		h.Cancel()
	}
	return nil
}

// Cancel ends a session that will not be served (or no longer is).
func (h *AttachHandle) Cancel() {
	h.a.end()
	found := false
	h.e.duringPrep(func(st *aheadState) { st.attach, found = dropSession(st.attach, h.a) })
	if found {
		return
	}
	h.e.mu.Lock()
	h.e.pendingAttach, _ = dropSession(h.e.pendingAttach, h.a)
	h.e.mu.Unlock()
}

// dropSession removes a from list, reporting whether it was there.
func dropSession(list []*attachSession, a *attachSession) ([]*attachSession, bool) {
	for i, p := range list {
		if p == a {
			return append(list[:i], list[i+1:]...), true
		}
	}
	return list, false
}

// Attach registers and serves in one call (for callers that hold the
// client's connection already).
func (s *Service) Attach(ctx context.Context, ref string, o AttachOptions, client Stream) error {
	h, _, err := s.AttachRegister(ref, o)
	if err != nil {
		return err
	}
	return h.Serve(ctx, client)
}

// connect joins the session to the running container's monitor. It returns
// at once; copying runs in the background, once the client's connection is
// there, until either side ends.
func (a *attachSession) connect(stateDir string) {
	conn, err := monitor.Attach(context.Background(), stateDir, a.monitorOptions())
	if err != nil {
		a.svc.log.Warn("attach to monitor", "dir", stateDir, "err", err)
		a.end()
		return
	}
	a.join(stateDir, conn)
}

// monitorOptions are the streams the session takes from the monitor.
func (a *attachSession) monitorOptions() monitor.AttachOptions {
	return monitor.AttachOptions{Stdin: a.opts.Stdin, Stdout: a.opts.Stdout, Stderr: a.opts.Stderr}
}

// join copies between the client and conn, a connection to the monitor of
// the container whose state directory is stateDir, in the background.
func (a *attachSession) join(stateDir string, conn *net.UnixConn) {
	go func() {
		select {
		case <-a.ready:
		case <-a.done:
			conn.Close()
			return
		}
		// Output: everything the monitor sends, already framed for Docker.
		io.Copy(a.client, conn)
		conn.Close()
		a.end()
	}()
	if a.opts.Stdin {
		go func() {
			select {
			case <-a.ready:
			case <-a.done:
				return
			}
			err := copyStdin(conn, a.client, a.detach)
			switch {
			case errors.Is(err, errDetached):
				conn.Close()
				a.end()
				if a.onDetach != nil {
					a.onDetach()
				}
			case err == nil && a.stdinOnce:
				// The client closed its stdin: so does the container's.
				monitor.CloseStdin(context.Background(), stateDir)
				conn.CloseWrite()
			default:
				conn.CloseWrite()
			}
		}()
	}
}

// end closes the client's connection once.
func (a *attachSession) end() {
	a.once.Do(func() {
		select {
		case <-a.ready:
			a.client.Close()
		default:
		}
		close(a.done)
	})
}

var errDetached = errors.New("detached")

// copyStdin copies client input to the container, watching for the detach
// sequence. A partial match is held back until it is known not to be one.
func copyStdin(dst io.Writer, src io.Reader, keys []byte) error {
	buf := make([]byte, 32*1024)
	matched := 0
	for {
		n, err := src.Read(buf)
		if n > 0 {
			out := make([]byte, 0, n+matched)
			for _, b := range buf[:n] {
				if len(keys) > 0 && b == keys[matched] {
					matched++
					if matched == len(keys) {
						if len(out) > 0 {
							dst.Write(out)
						}
						return errDetached
					}
					continue
				}
				if matched > 0 {
					out = append(out, keys[:matched]...)
					matched = 0
					if len(keys) > 0 && b == keys[0] {
						matched = 1
						continue
					}
				}
				out = append(out, b)
			}
			if len(out) > 0 {
				if _, werr := dst.Write(out); werr != nil {
					return werr
				}
			}
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// ParseDetachKeys parses Docker's notation: comma-separated "ctrl-<c>" or
// single characters. "" gives ctrl-p,ctrl-q.
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = "ctrl-p,ctrl-q"
	}
	var out []byte
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case strings.HasPrefix(k, "ctrl-") && len(k) == 6:
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				out = append(out, c-'a'+1)
			case c == '@':
				out = append(out, 0)
			case c >= '[' && c <= '_':
				out = append(out, c-'['+27)
			default:
				return nil, errdefs.Invalid("invalid detach keys (%s): unknown character %q", s, c)
			}
		default:
			return nil, errdefs.Invalid("invalid detach keys (%s): %q is not a valid key", s, k)
		}
	}
	return out, nil
}

// Resize changes the container's TTY size.
func (s *Service) Resize(ctx context.Context, ref string, height, width uint16) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	running := e.c.State.Running()
	id := e.c.ID
	tty := e.c.Config != nil && e.c.Config.Tty
	e.mu.Unlock()
	if !running {
		return errdefs.Conflict("Container %s is not running", id)
	}
	// Without a TTY Docker (containerd's shim) answers OK: a process
	// without a console has no size to change.
	if tty {
		if err := monitor.Resize(ctx, s.stateDir(id), height, width); err != nil {
			return err
		}
	}
	e.mu.Lock()
	c := e.c
	e.mu.Unlock()
	s.emit(&c, evtypes.ActionResize, map[string]string{"height": strconv.Itoa(int(height)), "width": strconv.Itoa(int(width))})
	return nil
}
