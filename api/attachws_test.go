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

// Whatever the frames and however the stream is cut, the payloads come out
// whole and in order.
func FuzzUnframer(f *testing.F) {
	f.Add([]byte("hello"), []byte{3, 0, 9})
	f.Add([]byte{}, []byte{1})
	f.Add(bytes.Repeat([]byte("ab"), 300), []byte{200, 7, 1, 1, 64})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		// Frames: data split into payloads (empty ones included) of
		// lengths taken from cuts.
		var framed bytes.Buffer
		rest := data
		for i := 0; len(rest) > 0 && i <= len(data)+1; i++ {
			n := len(rest)
			if len(cuts) > 0 {
				n = min(int(cuts[i%len(cuts)]), len(rest))
			}
			stdcopy.WriteFrame(&framed, byte(1+i%2), rest[:n])
			rest = rest[n:]
		}
		if len(rest) > 0 || framed.Len() == 0 {
			stdcopy.WriteFrame(&framed, 1, rest)
		}
		var u unframer
		var got []byte
		stream := framed.Bytes()
		for i := 0; len(stream) > 0; i++ {
			n := len(stream)
			if len(cuts) > 0 {
				n = min(1+int(cuts[(i+1)%len(cuts)]), len(stream))
			}
			u.feed(stream[:n], func(p []byte) error { got = append(got, p...); return nil })
			stream = stream[n:]
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("unframed %q, want %q", got, data)
		}
	})
}
