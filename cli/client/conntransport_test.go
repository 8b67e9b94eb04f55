package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// unixDaemon serves h on a unix socket and returns a client of it and the
// number of connections the server accepted so far.
func unixDaemon(t *testing.T, h http.HandlerFunc) (*Client, *httptest.Server, func() int64) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := New(WithHost("unix://" + sock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, ok := c.hc.Transport.(*connTransport); !ok {
		t.Fatalf("a unix socket client uses %T", c.hc.Transport)
	}
	return c, srv, conns.Load
}

// TestConnTransportReuses checks that requests without a body or with a
// JSON one share one kept connection, that their bodies arrive, and that
// a kept connection the daemon closed is replaced without an error.
func TestConnTransportReuses(t *testing.T) {
	ctx := context.Background()
	c, srv, conns := unixDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.47")
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if len(body) == 0 {
			body = []byte("null")
		}
		w.Write([]byte(`{"Method":"` + r.Method + `","Body":` + string(body) + `}`))
	})
	var out struct {
		Method string
		Body   map[string]string
	}
	for range 3 {
		if err := c.get(ctx, "/info", nil, &out); err != nil || out.Method != "GET" {
			t.Fatalf("GET: %v, %+v", err, out)
		}
	}
	if err := c.post(ctx, "/x", nil, map[string]string{"a": "b"}, &out); err != nil || out.Method != "POST" || out.Body["a"] != "b" {
		t.Fatalf("POST: %v, %+v", err, out)
	}
	if err := c.delete(ctx, "/x", nil); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	if n := conns(); n != 1 {
		t.Errorf("5 requests in sequence opened %d connections, want 1", n)
	}
	srv.CloseClientConnections()
	if err := c.get(ctx, "/info", nil, &out); err != nil {
		t.Fatalf("GET after the daemon closed the kept connection: %v", err)
	}
	if err := c.post(ctx, "/x", nil, map[string]string{"a": "c"}, &out); err != nil || out.Body["a"] != "c" {
		t.Fatalf("POST on the new connection: %v, %+v", err, out)
	}
}

// TestConnTransportStreamCancel checks that a cancelled context ends the
// read of a response that never ends, and that closing such a body
// unread does not wait for its end.
func TestConnTransportStreamCancel(t *testing.T) {
	release := make(chan struct{})
	c, _, _ := unixDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.47")
		w.Write([]byte("first\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	// Registered after the server's: runs before its Close, which waits
	// for the handlers.
	t.Cleanup(func() { close(release) })
	for _, cancelFirst := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		resp, err := c.send(ctx, http.MethodGet, "/logs", nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first\n" {
			t.Fatalf("first line: %q, %v", buf, err)
		}
		done := make(chan error, 1)
		if cancelFirst {
			go func() { _, err := resp.Body.Read(buf); done <- err }()
			cancel()
		} else {
			go func() { done <- resp.Body.Close() }()
		}
		select {
		case err := <-done:
			if cancelFirst && !errors.Is(err, context.Canceled) {
				t.Errorf("read after cancel: %v, want context.Canceled", err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("cancelFirst=%v: the body's read or close did not return", cancelFirst)
		}
		resp.Body.Close()
		cancel()
	}
}

// TestConnTransportStreamedBody checks that a request whose body is a
// stream goes through net/http's Transport, body included.
func TestConnTransportStreamedBody(t *testing.T) {
	c, _, _ := unixDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.47")
		io.Copy(w, r.Body)
	})
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("streamed"))
		pw.Close()
	}()
	resp, err := c.send(context.Background(), http.MethodPost, "/build", nil, nil, struct{ io.Reader }{pr})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(got), "streamed") {
		t.Errorf("echoed body %q", got)
	}
}

// TestConnTransportLargeBodyAnswerFirst checks that a large request body
// the daemon refuses unread still gets the daemon's answer (net/http's
// Transport reads it while writing; connTransport would fail its write).
func TestConnTransportLargeBodyAnswerFirst(t *testing.T) {
	c, _, _ := unixDaemon(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.47")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message":"No such container: x"}`))
	})
	body := bytes.NewReader(make([]byte, 8<<20))
	_, err := c.send(context.Background(), http.MethodPost, "/containers/x/archive", nil, nil, body)
	if err == nil || !strings.Contains(err.Error(), "No such container: x") {
		t.Errorf("POST of 8 MB refused unread: %v, want the daemon's message", err)
	}
}
