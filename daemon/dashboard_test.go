package daemon

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The token route is served next to the API handler on -H only; with the
// dashboard off it says how to turn it on.
func TestDashboardTokenRoute(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api:"+r.URL.Path) })
	d := &Daemon{cfg: &Config{}, log: slog.New(slog.DiscardHandler), reqCtx: context.Background()}
	h := d.serveUI(nil, api, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1.47/berth/dashboard/token", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "--ui-addr") {
		t.Fatalf("dashboard off: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/containers/json", nil))
	if rec.Body.String() != "api:/containers/json" {
		t.Fatalf("other routes: %s", rec.Body)
	}

	d.cfg.UIAddr = "127.0.0.1:0"
	l, err := d.listenUI()
	if err != nil {
		t.Fatal(err)
	}
	errCh := make(chan error, 1)
	h = d.serveUI(l, api, errCh)
	t.Cleanup(func() {
		for _, s := range d.servers {
			s.Close()
		}
	})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/berth/dashboard/token", nil))
	var tr struct{ URL string }
	if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	if !strings.HasPrefix(tr.URL, "http://127.0.0.1:"+port+"/login?token=") {
		t.Fatalf("login link %q for a dashboard on %s", tr.URL, l.Addr())
	}
	// The link logs in on the dashboard's listener, whose /api/ is the
	// same handler.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(tr.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get("http://127.0.0.1:" + port + "/api/v1.47/containers/json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "api:/v1.47/containers/json" {
		t.Fatalf("/api/ on the dashboard: %s %s", resp.Status, b)
	}
	// A page may not mint logins: under /api/ the token route is just a
	// path the Engine API handler gets (and does not serve).
	resp, err = c.Get("http://127.0.0.1:" + port + "/session")
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ CSRF string }
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	req, _ := http.NewRequest("POST", "http://127.0.0.1:"+port+"/api/berth/dashboard/token", nil)
	req.Header.Set("X-Berth-Csrf", sess.CSRF)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "api:/berth/dashboard/token" {
		t.Fatalf("token route under the dashboard's /api/: %s %s", resp.Status, b)
	}
}
