package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The console is `docker exec -it` over a WebSocket: the bridge creates
// the exec and starts it through the Engine API handler (the same routes
// the docker CLI uses), taking the hijacked stream from it over an
// in-memory pipe. Binary messages are the terminal's input and output;
// text messages from the page are JSON control messages ({"resize":[cols,
// rows]}).

// wsConn is a WebSocket the dashboard writes to from several goroutines.
type wsConn struct {
	*websocket.Conn
	mu sync.Mutex
}

// upgrade answers a WebSocket request; withSession has checked the Origin
// already, the upgrader checks it again should it be reached another way.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) (*wsConn, error) {
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 32 * 1024, CheckOrigin: s.sameOrigin}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil, err // the upgrader has answered
	}
	return &wsConn{Conn: ws}, nil
}

// send writes one message; a peer that stops reading is given 30 s.
func (c *wsConn) send(write func(*websocket.Conn) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return write(c.Conn)
}

// control is a text message from the page.
type control struct {
	Resize []uint `json:"resize"`
}

func (s *Server) execWS(w http.ResponseWriter, r *http.Request, _ *session) {
	q := r.URL.Query()
	id := q.Get("container")
	if id == "" {
		jsonError(w, http.StatusBadRequest, "container is required")
		return
	}
	cmd := strings.Fields(q.Get("cmd"))
	if len(cmd) == 0 {
		cmd = []string{"sh"}
	}
	cols, _ := strconv.Atoi(q.Get("cols"))
	rows, _ := strconv.Atoi(q.Get("rows"))
	create := map[string]any{
		"AttachStdin": true, "AttachStdout": true, "AttachStderr": true, "Tty": true, "Cmd": cmd,
		"Env": []string{"TERM=xterm-256color"},
	}
	if cols > 0 && rows > 0 {
		create["ConsoleSize"] = []int{rows, cols}
	}
	var created struct{ Id string }
	if code, msg := s.call(r.Context(), http.MethodPost, "/containers/"+url.PathEscape(id)+"/exec", create, &created); code != http.StatusCreated {
		jsonError(w, code, msg)
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	stream, err := s.startExec(ctx, created.Id)
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer stream.Close()
	ws, err := s.upgrade(w, r)
	if err != nil {
		return
	}
	defer ws.Close()
	send := func(typ int, b []byte) error {
		return ws.send(func(c *websocket.Conn) error { return c.WriteMessage(typ, b) })
	}
	go func() {
		defer cancel()
		buf := make([]byte, 32*1024)
		for {
			n, err := stream.Read(buf)
			if n > 0 {
				if send(websocket.BinaryMessage, buf[:n]) != nil {
					return
				}
			}
			if err != nil {
				send(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "exited"))
				return
			}
		}
	}()
	go func() {
		defer cancel()
		for {
			typ, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if typ == websocket.BinaryMessage {
				if _, err := stream.Write(b); err != nil {
					return
				}
				continue
			}
			var c control
			if json.Unmarshal(b, &c) == nil && len(c.Resize) == 2 && c.Resize[0] > 0 && c.Resize[1] > 0 {
				s.call(ctx, http.MethodPost, fmt.Sprintf("/exec/%s/resize?w=%d&h=%d", created.Id, c.Resize[0], c.Resize[1]), nil, nil)
			}
		}
	}()
	<-ctx.Done()
}

// call runs one short Engine API request in process and decodes its JSON
// answer into out; it returns the status and, on failure, the message.
func (s *Server) call(ctx context.Context, method, path string, body, out any) (int, string) {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(ctx, method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.opts.API.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		var e struct{ Message string }
		json.Unmarshal(rec.Body.Bytes(), &e)
		if e.Message == "" {
			e.Message = strings.TrimSpace(rec.Body.String())
		}
		return rec.Code, e.Message
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			return http.StatusInternalServerError, "decode " + path + ": " + err.Error()
		}
	}
	return rec.Code, ""
}

// startExec starts an exec through the API handler and returns its
// hijacked stream, past the HTTP head the handler writes.
func (s *Server) startExec(ctx context.Context, id string) (net.Conn, error) {
	body := strings.NewReader(`{"Detach":false,"Tty":true}`)
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/exec/"+url.PathEscape(id)+"/start", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	hw := newPipeHijacker()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.opts.API.ServeHTTP(hw, req)
	}()
	select {
	case <-hw.hijacked:
	case <-done:
		// Answered without taking over the connection: an error.
		var e struct{ Message string }
		json.Unmarshal(hw.body.Bytes(), &e)
		return nil, fmt.Errorf("exec start: %s", e.Message)
	}
	br := bufio.NewReader(hw.client)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			hw.client.Close()
			return nil, fmt.Errorf("exec start: reading the stream head: %w", err)
		}
		if strings.HasPrefix(line, "HTTP/") && !strings.Contains(line, " 101 ") && !strings.Contains(line, " 200 ") {
			hw.client.Close()
			return nil, fmt.Errorf("exec start: %s", strings.TrimSpace(line))
		}
		if line == "\r\n" {
			break
		}
	}
	return &bufferedConn{Conn: hw.client, r: br}, nil
}

// pipeHijacker is a ResponseWriter whose Hijack hands the handler one end
// of an in-memory pipe; the bridge keeps the other.
type pipeHijacker struct {
	header   http.Header
	body     bytes.Buffer
	code     int
	client   net.Conn
	server   net.Conn
	once     sync.Once
	hijacked chan struct{}
}

func newPipeHijacker() *pipeHijacker {
	c, s := net.Pipe()
	return &pipeHijacker{header: http.Header{}, client: c, server: s, hijacked: make(chan struct{})}
}

func (p *pipeHijacker) Header() http.Header         { return p.header }
func (p *pipeHijacker) Write(b []byte) (int, error) { return p.body.Write(b) }
func (p *pipeHijacker) WriteHeader(code int)        { p.code = code }

func (p *pipeHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	p.once.Do(func() { close(p.hijacked) })
	return p.server, bufio.NewReadWriter(bufio.NewReader(p.server), bufio.NewWriter(p.server)), nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
