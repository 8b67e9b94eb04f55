package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// dialAttachWS opens GET /containers/{name}/attach/ws?query with a Go
// WebSocket client, as Portainer's console does.
func dialAttachWS(t *testing.T, d *Daemon, version, name, query string) *websocket.Conn {
	t.Helper()
	dialer := websocket.Dialer{
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "unix", d.Sock)
		},
		HandshakeTimeout: 10 * time.Second,
	}
	// Any Origin is accepted, as by Docker.
	hdr := http.Header{"Origin": {"http://elsewhere.example"}}
	ws, resp, err := dialer.Dial("ws://berth/"+version+"/containers/"+name+"/attach/ws?"+query, hdr)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("attach/ws %s: %v (HTTP %d)", name, err, status)
	}
	ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	return ws
}

// readWSUntil reads messages until their concatenation contains every
// string of want and checks every message has type typ. (stdout and stderr
// are separate pipes: their order is not kept.)
func readWSUntil(t *testing.T, ws *websocket.Conn, typ int, want ...string) string {
	t.Helper()
	var got strings.Builder
	missing := func() bool {
		for _, w := range want {
			if !strings.Contains(got.String(), w) {
				return true
			}
		}
		return false
	}
	for missing() {
		mt, p, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %q over attach/ws: %v; got %q", want, err, got.String())
		}
		if mt != typ {
			t.Fatalf("message type %d, want %d", mt, typ)
		}
		got.Write(p)
	}
	return got.String()
}

// Issue 12.13: GET /containers/{id}/attach/ws, with and without a TTY.
func TestAttachWebSocket(t *testing.T) {
	d := sharedDaemon(t, "core")
	b := d.Berth()

	t.Run("no-tty", func(t *testing.T) {
		name := uniq("ws-plain")
		b.Must(t, "run", "-d", "-i", "--name", name, "busybox", "sh", "-c",
			`while read l; do echo "out:$l"; echo "err:$l" >&2; done`)
		defer b.Run(t, "rm", "-f", name)
		ws := dialAttachWS(t, d, "v1.47", name, "stream=1&stdin=1&stdout=1&stderr=1")
		defer ws.Close()
		if err := ws.WriteMessage(websocket.TextMessage, []byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		// Unframed: the bytes are the process's own, no 8-byte headers.
		got := readWSUntil(t, ws, websocket.BinaryMessage, "err:ping\n", "out:ping\n")
		if strings.ContainsRune(got, 0) {
			t.Fatalf("attach/ws output %q, want out:ping and err:ping unframed", got)
		}
		// Closing stdin (binary message) ends the loop and the stream.
		ws.WriteMessage(websocket.BinaryMessage, []byte("bye\n"))
		readWSUntil(t, ws, websocket.BinaryMessage, "out:bye\n")
	})

	t.Run("stdout-only", func(t *testing.T) {
		name := uniq("ws-out")
		b.Must(t, "run", "-d", "--name", name, "busybox", "sh", "-c",
			`while true; do echo tick-out; echo tick-err >&2; sleep 0.1; done`)
		defer b.Run(t, "rm", "-f", name)
		ws := dialAttachWS(t, d, "v1.47", name, "stream=1&stdout=1")
		got := readWSUntil(t, ws, websocket.BinaryMessage, "tick-out\ntick-out\ntick-out\n")
		if strings.Contains(got, "tick-err") {
			t.Errorf("stderr=0 but stderr arrived: %q", got)
		}
		ws.Close()
		// Before API 1.42 every stream is attached, in text messages
		// before 1.28 (as Docker does).
		ws = dialAttachWS(t, d, "v1.27", name, "stream=1")
		readWSUntil(t, ws, websocket.TextMessage, "tick-err")
		ws.Close()
		if st := b.Must(t, "inspect", "--format", "{{.State.Status}}", name); st != "running" {
			t.Fatalf("after attach/ws clients left: %q, want running", st)
		}
	})

	t.Run("tty-resize", func(t *testing.T) {
		name := uniq("ws-tty")
		b.Must(t, "run", "-d", "-it", "--name", name, "busybox", "sh")
		defer b.Run(t, "rm", "-f", name)
		ws := dialAttachWS(t, d, "v1.47", name, "stream=1&stdin=1&stdout=1&stderr=1")
		defer ws.Close()
		if code, _, body := d.API(t, "POST", "/v1.47/containers/"+name+"/resize?h=33&w=101", "", ""); code != 200 {
			t.Fatalf("resize: HTTP %d %s", code, body)
		}
		ws.WriteMessage(websocket.TextMessage, []byte("stty size; echo sum-$((40+2))\n"))
		got := readWSUntil(t, ws, websocket.BinaryMessage, "sum-42")
		if !strings.Contains(got, "33 101") {
			t.Errorf("stty size over attach/ws after resize: %q, want 33 101", got)
		}
		// exit ends the container and the WebSocket with a normal close.
		ws.WriteMessage(websocket.TextMessage, []byte("exit\n"))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
					t.Errorf("end of attach/ws after exit: %v, want a normal close", err)
				}
				break
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		name := uniq("ws-logs")
		b.Must(t, "run", "--name", name, "busybox", "sh", "-c", "echo logged-out; echo logged-err >&2")
		defer b.Run(t, "rm", "-f", name)
		ws := dialAttachWS(t, d, "v1.47", name, "logs=1&stdout=1&stderr=1")
		defer ws.Close()
		// Without stream=1 the WebSocket closes after the log.
		var got strings.Builder
		for {
			_, p, err := ws.ReadMessage()
			if err != nil {
				if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
					t.Errorf("end of attach/ws logs=1: %v, want a normal close", err)
				}
				break
			}
			got.Write(p)
		}
		if s := got.String(); !strings.Contains(s, "logged-out\n") || !strings.Contains(s, "logged-err\n") || strings.ContainsRune(s, 0) {
			t.Errorf("attach/ws logs=1: %q, want both lines unframed", s)
		}
	})

	t.Run("bad-input", func(t *testing.T) {
		// Not a WebSocket handshake: 400, not a hang or a hijack.
		if code, _, body := d.API(t, "GET", "/v1.47/containers/nosuch/attach/ws", "", ""); code != 400 {
			t.Errorf("plain GET attach/ws: HTTP %d %s, want 400", code, body)
		}
		dialer := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "unix", d.Sock)
		}}
		_, resp, err := dialer.Dial("ws://berth/v1.47/containers/nosuch-ws/attach/ws?stream=1", nil)
		if err == nil || resp == nil || resp.StatusCode != 404 {
			t.Errorf("attach/ws to a missing container: %v %v, want HTTP 404", err, resp)
		}
		name := uniq("ws-bad")
		b.Must(t, "create", "--name", name, "busybox", "true")
		defer b.Run(t, "rm", "-f", name)
		_, resp, err = dialer.Dial("ws://berth/v1.47/containers/"+name+"/attach/ws?stream=1&detachKeys=ctrl-%3F%3F", nil)
		if err == nil || resp == nil || resp.StatusCode != 400 {
			t.Errorf("attach/ws with bad detachKeys: %v %v, want HTTP 400", err, fmt.Sprint(resp != nil && resp.StatusCode == 400))
		}
	})
}
