package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// testClient is a client of a test server with handler h.
func testClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(WithHost("tcp://" + srv.Listener.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// versionedDaemon answers every request with Api-Version v (none if
// empty) and {} and records the requests' methods and paths.
func versionedDaemon(t *testing.T, v string) (*Client, func() []string) {
	var mu sync.Mutex
	var seen []string
	c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if v != "" {
			w.Header().Set("Api-Version", v)
		}
		w.Write([]byte("{}"))
	})
	return c, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestFirstGetSkipsPing checks that a first GET goes out unversioned with
// no ping when the daemon's version is within the client's range, and
// that otherwise the client pings and sends the GET again, versioned as
// negotiation says; a first POST pings first as before.
func TestFirstGetSkipsPing(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		daemon, version string
		want            []string
	}{
		{"1.47", "1.47", []string{"GET /info", "GET /v1.47/info"}},
		{"1.44", "1.44", []string{"GET /info", "GET /v1.44/info"}},
		{"1.99", MaxAPIVersion, []string{"GET /info", "HEAD /_ping", "GET /v" + MaxAPIVersion + "/info", "GET /v" + MaxAPIVersion + "/info"}},
		{"", MaxAPIVersion, []string{"GET /info", "HEAD /_ping", "GET /v" + MaxAPIVersion + "/info", "GET /v" + MaxAPIVersion + "/info"}},
	} {
		c, seen := versionedDaemon(t, tc.daemon)
		for range 2 {
			var out map[string]any
			if err := c.get(ctx, "/info", nil, &out); err != nil {
				t.Fatalf("daemon %q: %v", tc.daemon, err)
			}
		}
		if got := strings.Join(seen(), ", "); got != strings.Join(tc.want, ", ") {
			t.Errorf("daemon %q: requests %s, want %s", tc.daemon, got, strings.Join(tc.want, ", "))
		}
		if c.ClientVersion() != tc.version {
			t.Errorf("daemon %q: client version %s, want %s", tc.daemon, c.ClientVersion(), tc.version)
		}
	}
	c, seen := versionedDaemon(t, "1.47")
	if err := c.post(ctx, "/containers/x/start", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(seen(), ", "), "POST /v1.47/containers/x/start"; got != want {
		t.Errorf("first POST: requests %s, want %s", got, want)
	}
	// A daemon older than the client supports: as before, the failed
	// negotiation leaves requests unversioned.
	c, seen = versionedDaemon(t, "1.30")
	if err := c.get(ctx, "/info", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(seen(), ", "), "GET /info, HEAD /_ping, GET /info"; got != want {
		t.Errorf("daemon 1.30: requests %s, want %s", got, want)
	}
}
