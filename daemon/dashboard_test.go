package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/tlsgen"
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

// Off loopback the dashboard is served over TLS with the daemon's
// certificate (no client certificate asked), and its cookie is Secure.
func TestDashboardTLS(t *testing.T) {
	dir := t.TempDir()
	if err := tlsgen.Generate(tlsgen.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	on := true
	cfg := &Config{UIAddr: "0.0.0.0:0", TLSVerify: &on}
	cfg.Defaults()
	cfg.TLSCACert, cfg.TLSCert, cfg.TLSKey = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server-cert.pem"), filepath.Join(dir, "server-key.pem")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := &Daemon{cfg: cfg, log: slog.New(slog.DiscardHandler), reqCtx: context.Background()}
	l, err := d.listenUI()
	if err != nil {
		t.Fatal(err)
	}
	h := d.serveUI(l, http.NotFoundHandler(), make(chan error, 1))
	t.Cleanup(func() {
		for _, s := range d.servers {
			s.Close()
		}
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/berth/dashboard/token", nil))
	var tr struct{ Token, URL string }
	json.Unmarshal(rec.Body.Bytes(), &tr)
	if !strings.HasPrefix(tr.URL, "https://") {
		t.Fatalf("login link %q: want https", tr.URL)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(cfg.TLSCACert)
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Get("https://127.0.0.1:" + port + "/login?token=" + tr.Token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure || !resp.Cookies()[0].HttpOnly {
		t.Fatalf("login over TLS: %s, cookies %v", resp.Status, resp.Cookies())
	}
	// Plain HTTP on the same port gets no dashboard.
	if r, err := http.Get("http://127.0.0.1:" + port + "/"); err == nil {
		r.Body.Close()
		if r.StatusCode == http.StatusOK || r.StatusCode == http.StatusUnauthorized {
			t.Fatalf("plain HTTP served the dashboard: %s", r.Status)
		}
	}
}
