package daemon

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProfilerOnlyAtDebugLevel: /debug/pprof/ is served while berthd logs
// at debug level, and is the API's own path (here a 404) otherwise; other
// paths always go to the API.
func TestProfilerOnlyAtDebugLevel(t *testing.T) {
	level := new(slog.LevelVar)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "api", http.StatusNotFound) })
	h := withProfiler(level, api)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	level.Set(slog.LevelInfo)
	if code, body := get("/debug/pprof/"); code != http.StatusNotFound || !strings.Contains(body, "api") {
		t.Fatalf("at info level: %d %q, want the API's 404", code, body)
	}
	level.Set(slog.LevelDebug) // a reload to debug turns it on
	if code, body := get("/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("at debug level: %d %q, want the profile index", code, body)
	}
	if code, _ := get("/debug/pprof/cmdline"); code != http.StatusOK {
		t.Fatalf("cmdline at debug level: %d", code)
	}
	if code, body := get("/containers/json"); code != http.StatusNotFound || !strings.Contains(body, "api") {
		t.Fatalf("API path: %d %q", code, body)
	}
}
