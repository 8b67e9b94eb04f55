package api

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/gorilla/websocket"
)

// wsUpgrader accepts any Origin, as Docker does (its attach/ws handler runs
// golang.org/x/net/websocket without a handshake check): whoever can reach
// the API socket may attach anyway, and browsers talking to the API come
// through a proxy of their own (Portainer) that does its own checks. A page
// served by berthd itself must not rely on this route's origin check.
var wsUpgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 32 * 1024,
	CheckOrigin:     func(*http.Request) bool { return true },
}

// getContainerAttachWS is GET /containers/{id}/attach/ws: attach over a
// WebSocket, as Docker serves it. Output is never multiplexed (stdout and
// stderr arrive raw, one message per chunk), in binary messages from API
// 1.28 on and text messages before; messages from the client, of either
// kind, are the container's stdin. Before API 1.42 every stream is attached
// whatever the query says, as with Docker. Resizing goes through POST
// /containers/{id}/resize.
func (s *Server) getContainerAttachWS(w http.ResponseWriter, r *http.Request) error {
	if !websocket.IsWebSocketUpgrade(r) {
		return errdefs.Invalid("attach/ws: the request is not a WebSocket upgrade")
	}
	version := RequestVersion(r)
	o := containers.AttachOptions{
		Stdin: true, Stdout: true, Stderr: true,
		Stream: boolValue(r, "stream"), Logs: boolValue(r, "logs"), DetachKeys: r.URL.Query().Get("detachKeys"),
	}
	if compareVersions(version, "1.42") >= 0 {
		o.Stdin, o.Stdout, o.Stderr = boolValue(r, "stdin"), boolValue(r, "stdout"), boolValue(r, "stderr")
	}
	// Registered before the upgrade is answered: a client that starts the
	// container once connected loses no output.
	h, tty, err := s.b.Containers.AttachRegister(r.PathValue("id"), o)
	if err != nil {
		return err
	}
	ws, err := wsUpgrader.Upgrade(w, r, nil)
	if err != nil {
		h.Cancel()
		return nil // the upgrader has answered the client
	}
	msgType := websocket.BinaryMessage
	if compareVersions(version, "1.28") < 0 {
		msgType = websocket.TextMessage
	}
	stream := &wsStream{ws: ws, msgType: msgType, demux: !tty}
	defer stream.Close()

	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	if !o.Stdin || !o.Stream {
		// Nobody reads the client's messages for stdin: read them here, so
		// its pings and close are answered and its going away is noticed.
		go func() {
			for {
				if _, _, err := ws.NextReader(); err != nil {
					cancel()
					return
				}
			}
		}()
	}
	if err := h.Serve(ctx, stream); err != nil {
		ws.WriteMessage(msgType, []byte(err.Error()+"\r\n"))
	}
	return nil
}

// wsStream is a containers.Stream over a WebSocket. Output written to it
// is sent as messages, stripped of Docker's stream framing when the
// container has no TTY; messages received are read as one byte stream.
type wsStream struct {
	ws      *websocket.Conn
	msgType int
	demux   bool
	frames  unframer

	rd        io.Reader // the message being read
	closeOnce sync.Once
}

func (s *wsStream) Write(p []byte) (int, error) {
	send := func(b []byte) error { return s.ws.WriteMessage(s.msgType, b) }
	if !s.demux {
		if err := send(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if err := s.frames.feed(p, send); err != nil {
		return 0, err
	}
	return len(p), nil
}

// unframer strips Docker's stream framing (an 8-byte header: stream,
// three zero bytes, a big-endian uint32 length; then the payload) from a
// byte stream that arrives cut anywhere.
type unframer struct {
	hdr  [8]byte
	nhdr int // header bytes read so far
	left int // payload bytes still due from the current frame
}

// feed passes each payload piece of p to emit, in order.
func (u *unframer) feed(p []byte, emit func([]byte) error) error {
	for len(p) > 0 {
		if u.left == 0 {
			c := copy(u.hdr[u.nhdr:], p)
			u.nhdr += c
			p = p[c:]
			if u.nhdr == len(u.hdr) {
				u.left, u.nhdr = int(binary.BigEndian.Uint32(u.hdr[4:])), 0
			}
			continue
		}
		c := min(u.left, len(p))
		if err := emit(p[:c]); err != nil {
			return err
		}
		u.left -= c
		p = p[c:]
	}
	return nil
}

// Read returns the client's messages as one stream; the client closing the
// WebSocket is the end of its input.
func (s *wsStream) Read(p []byte) (int, error) {
	for {
		if s.rd == nil {
			_, r, err := s.ws.NextReader()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					return 0, io.EOF
				}
				return 0, err
			}
			s.rd = r
		}
		n, err := s.rd.Read(p)
		if err == io.EOF {
			s.rd = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// CloseWrite ends the session: a WebSocket has no half-close, and Docker
// closes it once the output has ended.
func (s *wsStream) CloseWrite() error { return s.Close() }

// Close says goodbye with a normal closure and closes the connection.
func (s *wsStream) Close() error {
	s.closeOnce.Do(func() {
		s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		s.ws.Close()
	})
	return nil
}
