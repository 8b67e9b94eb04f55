package containers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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

// attachSession is one client attached to one container.
type attachSession struct {
	svc       *Service
	opts      AttachOptions
	client    Stream
	detach    []byte
	stdinOnce bool
	once      sync.Once
	done      chan struct{}
}

// Attach connects client to the container's streams and blocks until the
// container's run ends, the client detaches, or the client goes away. On a
// container that is not running it waits for the next start, as Docker does
// (`docker start -a` attaches first).
func (s *Service) Attach(ctx context.Context, ref string, o AttachOptions, client Stream) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	keys, err := ParseDetachKeys(o.DetachKeys)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if e.c.State.Status == StatusPaused {
		e.mu.Unlock()
		return errdefs.Conflict("You cannot attach to a paused container, unpause it first")
	}
	a := &attachSession{svc: s, opts: o, client: client, detach: keys, stdinOnce: e.c.Config.StdinOnce, done: make(chan struct{})}
	if o.Logs && e.c.LogPath != "" {
		e.mu.Unlock()
		if err := s.writeLogs(ctx, e, client, LogsOptions{Stdout: o.Stdout, Stderr: o.Stderr, Tail: -1}); err != nil {
			return err
		}
		e.mu.Lock()
	}
	if !o.Stream {
		e.mu.Unlock()
		return nil
	}
	if e.c.State.Status == StatusRunning {
		a.connect(s.stateDir(e.c.ID))
	} else {
		e.pendingAttach = append(e.pendingAttach, a)
	}
	e.mu.Unlock()
	select {
	case <-a.done:
	case <-ctx.Done():
		a.end()
		e.mu.Lock()
		for i, p := range e.pendingAttach {
			if p == a {
				e.pendingAttach = append(e.pendingAttach[:i], e.pendingAttach[i+1:]...)
				break
			}
		}
		e.mu.Unlock()
	}
	return nil
}

// connect joins the session to the container's monitor. It returns at once;
// copying runs in the background until either side ends.
func (a *attachSession) connect(stateDir string) {
	conn, err := monitor.Attach(context.Background(), stateDir, monitor.AttachOptions{Stdin: a.opts.Stdin, Stdout: a.opts.Stdout, Stderr: a.opts.Stderr})
	if err != nil {
		a.svc.log.Warn("attach to monitor", "dir", stateDir, "err", err)
		a.end()
		return
	}
	go func() {
		// Output: everything the monitor sends, already framed for Docker.
		io.Copy(a.client, conn)
		conn.Close()
		a.end()
	}()
	if a.opts.Stdin {
		go func() {
			err := copyStdin(conn, a.client, a.detach)
			switch {
			case errors.Is(err, errDetached):
				conn.Close()
				a.end()
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
		a.client.Close()
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
	e.mu.Unlock()
	if !running {
		return errdefs.Conflict("Container %s is not running", id)
	}
	return monitor.Resize(ctx, s.stateDir(id), height, width)
}

var _ = bytes.MinRead
var _ = fmt.Sprint
var _ net.Conn
