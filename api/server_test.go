package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestVersionPrefixAndPing(t *testing.T) {
	s := New(Backends{}, nil)
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/_ping", 200, "OK"},
		{"HEAD", "/_ping", 200, ""},
		{"GET", "/v1.47/_ping", 200, "OK"},
		{"GET", "/v1.24/_ping", 200, "OK"},
		{"GET", "/v1.99/_ping", 400, "client version 1.99 is too new. Maximum supported API version is 1.47"},
		{"GET", "/v1.12/_ping", 400, "client version 1.12 is too old. Minimum supported API version is 1.24"},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s %s = %d %q", tc.method, tc.path, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Api-Version") != APIVersion || rec.Header().Get("Ostype") != "linux" || !strings.HasPrefix(rec.Header().Get("Server"), "Berth/") {
			t.Errorf("%s %s headers: %v", tc.method, tc.path, rec.Header())
		}
		if tc.code == 200 && rec.Header().Get("Builder-Version") == "" {
			t.Errorf("%s %s: no Builder-Version", tc.method, tc.path)
		}
	}
}

func TestFiltersValue(t *testing.T) {
	for _, raw := range []string{`{"status":{"exited":true},"label":{"a=b":true}}`, `{"status":["exited"],"label":["a=b"]}`} {
		r := httptest.NewRequest("GET", "/containers/json?filters="+urlQuery(raw), nil)
		f, err := filtersValue(r)
		if err != nil || len(f["status"]) != 1 || f["status"][0] != "exited" || f["label"][0] != "a=b" {
			t.Errorf("%s: %v, %v", raw, f, err)
		}
	}
	r := httptest.NewRequest("GET", "/containers/json?filters="+urlQuery(`{"status":`), nil)
	if _, err := filtersValue(r); err == nil {
		t.Error("malformed filters accepted")
	}
}

func TestMalformedBodyIs400(t *testing.T) {
	s := New(Backends{}, nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/containers/create", strings.NewReader("{not json"))
	s.ServeHTTP(rec, req)
	var body map[string]string
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusBadRequest || !strings.Contains(body["message"], "invalid JSON") {
		t.Fatalf("create with bad JSON = %d %s", rec.Code, rec.Body.String())
	}
}

// since and until of logs and events take Unix seconds only (what clients
// send, as Docker's daemon): anything else is a 400 naming the parameter.
func TestTimeParamsRefused(t *testing.T) {
	s := New(Backends{}, nil)
	for _, path := range []string{
		"/containers/c1/logs?stdout=1&since=2026-01-02T03:04:05Z",
		"/containers/c1/logs?stdout=1&until=10m",
		"/events?since=yesterday",
		"/events?until=1.2.3",
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		name := "since"
		if strings.Contains(path, "until=") {
			name = "until"
		}
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid value for "+name) {
			t.Errorf("GET %s = %d %s, want 400 invalid value for %s", path, rec.Code, rec.Body.String(), name)
		}
	}
}

func urlQuery(s string) string {
	r := strings.NewReplacer("{", "%7B", "}", "%7D", `"`, "%22", ":", "%3A", "[", "%5B", "]", "%5D", "=", "%3D", ",", "%2C", " ", "%20")
	return r.Replace(s)
}

// State-changing routes run to their end when the client goes away;
// reads, streams and transfers follow the client.
func TestRunsToEnd(t *testing.T) {
	for pattern, want := range map[string]bool{
		"POST /containers/{id}/stop":    true,
		"DELETE /containers/{id}":       true,
		"POST /containers/create":       true,
		"POST /containers/{id}/rename":  true,
		"POST /networks/{id}/connect":   true,
		"DELETE /volumes/{name}":        true,
		"GET /containers/json":          false,
		"GET /events":                   false,
		"POST /containers/{id}/attach":  false,
		"POST /containers/{id}/wait":    false,
		"POST /images/create":           false,
		"POST /build":                   false,
		"HEAD /containers/{id}/archive": false,
	} {
		if got := runsToEnd(pattern); got != want {
			t.Errorf("runsToEnd(%q) = %v, want %v", pattern, got, want)
		}
	}
}

// TestWriteJSONContentLength checks that a JSON reply carries its length
// (berth reads a large one into a buffer of that size) and the body
// json.Encoder wrote, newline included.
func TestWriteJSONContentLength(t *testing.T) {
	v := []map[string]any{{"Id": "abc", "Names": []string{"/x<y>"}, "Created": 1}}
	rec := httptest.NewRecorder()
	if err := writeJSON(rec, http.StatusCreated, v); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.NewEncoder(&want).Encode(v); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusCreated || rec.Body.String() != want.String() {
		t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), http.StatusCreated, want.String())
	}
	if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(want.Len()) {
		t.Errorf("Content-Length %q, want %d", cl, want.Len())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	rec = httptest.NewRecorder()
	if err := writeJSON(rec, http.StatusOK, func() {}); err == nil || rec.Body.Len() != 0 {
		t.Errorf("a value JSON cannot encode: err %v, body %q", err, rec.Body.String())
	}
}
