package main

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func server(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// TestRunCountsBothPaths: both addresses are used and answered, and each
// path's rate is counted from its own slices only.
func TestRunCountsBothPaths(t *testing.T) {
	var hits [2]int
	ch := make(chan int, 1<<16)
	page := strings.Repeat("x", 612)
	mk := func(i int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			ch <- i
			w.Write([]byte(page))
		}
	}
	d, err := dialSet(server(t, mk(0)), 4)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dialSet(server(t, mk(1)), 4)
	if err != nil {
		t.Fatal(err)
	}
	dr, pr, err := run(d, p, 20*time.Millisecond, 3, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	close(ch)
	for i := range ch {
		hits[i]++
	}
	if dr <= 0 || pr <= 0 || hits[0] == 0 || hits[1] == 0 {
		t.Fatalf("direct %.0f/s (%d requests), published %.0f/s (%d requests): want both used", dr, hits[0], pr, hits[1])
	}
	// Counted requests cannot exceed those the servers answered.
	secs := (2 * 3 * 20 * time.Millisecond).Seconds()
	if int(dr*secs+0.5) > hits[0] || int(pr*secs+0.5) > hits[1] {
		t.Errorf("counted %.0f direct and %.0f published, servers answered %d and %d", dr*secs, pr*secs, hits[0], hits[1])
	}
}

// TestRunFailsOnErrorStatus: a path answering anything but 200 fails the
// run rather than counting its answers.
func TestRunFailsOnErrorStatus(t *testing.T) {
	ok := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	bad := server(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadGateway) })
	d, err := dialSet(ok, 2)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dialSet(bad, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(d, p, 10*time.Millisecond, 1, 5*time.Millisecond); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("run with a path answering 502: err %v, want the 502 response", err)
	}
}

func TestReadResponse(t *testing.T) {
	for _, c := range []struct {
		in   string
		fail bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\ncontent-length:  0 \r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc", true}, // no length
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", true}, // short body
		{"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", true},
	} {
		br := bufio.NewReader(strings.NewReader(c.in))
		err := readResponse(br)
		if err == nil && !c.fail {
			err = readResponse(br) // the second response of the first case
		}
		if (err != nil) != c.fail {
			t.Errorf("readResponse(%q): err %v, want failure %v", c.in, err, c.fail)
		}
	}
}
