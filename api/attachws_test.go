package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/stdcopy"
	"github.com/gorilla/websocket"
)

// Output without a TTY reaches a WebSocket client unframed, whatever way
// the multiplexed stream is cut into writes.
func TestWSStreamDemultiplexes(t *testing.T) {
	var framed bytes.Buffer
	stdcopy.WriteFrame(&framed, stdcopy.Stdout, []byte("hello "))
	stdcopy.WriteFrame(&framed, stdcopy.Stderr, []byte{})
	stdcopy.WriteFrame(&framed, stdcopy.Stderr, []byte("world"))
	stdcopy.WriteFrame(&framed, stdcopy.Stdout, bytes.Repeat([]byte("x"), 70000))
	want := "hello world" + strings.Repeat("x", 70000)

	for _, cut := range []int{1, 3, 8, 9, 4096, framed.Len()} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := wsUpgrader.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			s := &wsStream{ws: ws, msgType: websocket.BinaryMessage, demux: true}
			b := framed.Bytes()
			for len(b) > 0 {
				n := min(cut, len(b))
				if _, err := s.Write(b[:n]); err != nil {
					t.Errorf("write: %v", err)
					break
				}
				b = b[n:]
			}
			s.Close()
		}))
		c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var got strings.Builder
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
					t.Errorf("cut %d: read: %v", cut, err)
				}
				break
			}
			if typ != websocket.BinaryMessage {
				t.Errorf("cut %d: message type %d, want binary", cut, typ)
			}
			got.Write(p)
		}
		c.Close()
		srv.Close()
		if got.String() != want {
			t.Errorf("cut %d: got %d bytes %.40q..., want %d bytes", cut, got.Len(), got.String(), len(want))
		}
	}
}
