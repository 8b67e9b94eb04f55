package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/api"
)

// TestGuessIsBerthdVersion keeps the version a first POST is sent at equal
// to berthd's: otherwise every first POST to berthd would be refused and
// sent again.
func TestGuessIsBerthdVersion(t *testing.T) {
	if guessAPIVersion != api.APIVersion {
		t.Errorf("guessAPIVersion %s, berthd's API version %s", guessAPIVersion, api.APIVersion)
	}
}

// apiDaemon answers as a Docker daemon serving API versions [min, max]:
// a request versioned outside them is refused in Docker's words (400,
// before any work); any other request is served (recorded as "done")
// and answered with Api-Version max. Every request is recorded as
// method, path and body.
type apiDaemon struct {
	min, max string
	status   int // of served requests; 0 is 200
	mu       sync.Mutex
	seen     []string
}

func (d *apiDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	d.mu.Lock()
	d.seen = append(d.seen, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+string(b)))
	d.mu.Unlock()
	w.Header().Set("Api-Version", d.max)
	refuse := func(format string, a ...any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"message": fmt.Sprintf(format, a...)})
	}
	if v, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v"), "/"); ok && r.URL.Path[:2] == "/v" {
		switch {
		case versionLess(d.max, v):
			refuse("client version %s is too new. Maximum supported API version is %s", v, d.max)
			return
		case versionLess(v, d.min):
			refuse("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, d.min)
			return
		}
	}
	if d.status != 0 {
		refuse("invalid reference format")
		return
	}
	w.Write([]byte(`{"Id":"x"}`))
}

func (d *apiDaemon) requests() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.seen, ", ")
}

// TestFirstPostSkipsPing checks that a first POST goes out versioned at
// berthd's version with no ping, and that a daemon which does not serve
// that version (and so refuses it before acting) gets a ping and the same
// request again at the negotiated version: the request is done once.
func TestFirstPostSkipsPing(t *testing.T) {
	const body = `{"Image":"busybox"}`
	for _, tc := range []struct {
		min, max string
		want     string
		version  string
	}{
		{"1.24", "1.47", "POST /v1.47/containers/create " + body, "1.47"},
		{"1.24", "1.52", "POST /v1.47/containers/create " + body, "1.52"},
		{"1.24", "1.99", "POST /v1.47/containers/create " + body, MaxAPIVersion},
		{"1.24", "1.44", "POST /v1.47/containers/create " + body + ", HEAD /_ping, POST /v1.44/containers/create " + body, "1.44"},
		{"1.50", "1.53", "POST /v1.47/containers/create " + body + ", HEAD /_ping, POST /v1.53/containers/create " + body, "1.53"},
	} {
		d := &apiDaemon{min: tc.min, max: tc.max}
		c := testClient(t, d.ServeHTTP)
		var out map[string]any
		if err := c.post(context.Background(), "/containers/create", nil, strings.NewReader(body), &out); err != nil {
			t.Fatalf("daemon %s-%s: %v", tc.min, tc.max, err)
		}
		if out["Id"] != "x" {
			t.Errorf("daemon %s-%s: reply %v", tc.min, tc.max, out)
		}
		if got := d.requests(); got != tc.want {
			t.Errorf("daemon %s-%s: requests %s, want %s", tc.min, tc.max, got, tc.want)
		}
		if v := c.ClientVersion(); v != tc.version {
			t.Errorf("daemon %s-%s: client version %s, want %s", tc.min, tc.max, v, tc.version)
		}
	}
}

// TestFirstPostOtherErrors checks that a bad request other than a version
// refusal is the caller's error, sent once, and that a streamed body
// (which could not be sent twice) waits for the ping as before.
func TestFirstPostOtherErrors(t *testing.T) {
	ctx := context.Background()
	d := &apiDaemon{min: "1.24", max: "1.47", status: http.StatusBadRequest}
	c := testClient(t, d.ServeHTTP)
	err := c.post(ctx, "/containers/create", nil, strings.NewReader("{}"), nil)
	if err == nil || !strings.Contains(err.Error(), "invalid reference format") {
		t.Errorf("error %v, want the daemon's", err)
	}
	if got, want := d.requests(), "POST /v1.47/containers/create {}"; got != want {
		t.Errorf("requests %s, want %s", got, want)
	}

	d = &apiDaemon{min: "1.24", max: "1.44"}
	c = testClient(t, d.ServeHTTP)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(json.NewEncoder(pw).Encode(map[string]string{"a": "b"})) }()
	if err := c.post(ctx, "/build", nil, pr, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := d.requests(), `HEAD /_ping, POST /v1.44/build {"a":"b"}`; got != want {
		t.Errorf("streamed body: requests %s, want %s", got, want)
	}
}
