package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveOnePs answers one `berth ps` request on a unix socket and hands
// over the server's end of the connection, which it keeps open.
func serveOnePs(t *testing.T) (host string, conns <-chan net.Conn) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "berth.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c := make(chan net.Conn, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
			t.Error(err)
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nApi-Version: 1.47\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]")
		c <- conn
	}()
	return "unix://" + sock, c
}

// connClosed reports whether the client closed conn: its close is done
// before Run returns, so the read sees EOF at once; a connection left open
// reads nothing until the deadline.
func connClosed(t *testing.T, conn net.Conn) bool {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err := conn.Read(make([]byte, 1))
	switch {
	case errors.Is(err, io.EOF):
		return true
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false
	}
	t.Fatalf("read from the client's connection: %v", err)
	return false
}

// TestRunClosesConnections checks Run closes the client's connections
// and RunToExit (the berth binary's, which exits at once) leaves them to
// the exit.
func TestRunClosesConnections(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   func(context.Context, []string, io.ReadCloser, io.Writer, io.Writer) int
		close bool
	}{
		{"Run", Run, true},
		{"RunToExit", RunToExit, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, conns := serveOnePs(t)
			var out, errw strings.Builder
			if code := tc.run(t.Context(), []string{"-H", host, "ps"}, io.NopCloser(strings.NewReader("")), &out, &errw); code != 0 {
				t.Fatalf("ps: exit %d: %s", code, errw.String())
			}
			if !strings.HasPrefix(out.String(), "CONTAINER ID") {
				t.Errorf("ps output %q", out.String())
			}
			if got := connClosed(t, <-conns); got != tc.close {
				t.Errorf("connection closed when %s returned: %v, want %v", tc.name, got, tc.close)
			}
		})
	}
}
