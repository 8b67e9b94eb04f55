package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/api/types/container"
)

// fakeAPI stands in for the Engine API handler and records what reached it.
type fakeAPI struct {
	mu   sync.Mutex
	seen []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	switch {
	case r.Method == "POST" && r.URL.Path == "/containers/c1/exec":
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"Id":"e1"}`)
	case r.Method == "POST" && r.URL.Path == "/exec/e1/start":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n")
		buf := make([]byte, 64)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			conn.Write([]byte(strings.ToUpper(string(buf[:n]))))
		}
	case strings.HasPrefix(r.URL.Path, "/exec/e1/resize"):
		w.WriteHeader(http.StatusCreated)
	default:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"Id":"c1","Names":["/secret-name"]}]`)
	}
}

func (f *fakeAPI) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTest(t *testing.T, tlsOn bool) (*Server, *fakeAPI, *clock, *httptest.Server) {
	t.Helper()
	api := &fakeAPI{}
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s := New(Options{API: api, TLS: tlsOn, Loopback: true, Now: clk.now})
	var ts *httptest.Server
	if tlsOn {
		ts = httptest.NewTLSServer(s)
	} else {
		ts = httptest.NewServer(s)
	}
	t.Cleanup(ts.Close)
	return s, api, clk, ts
}

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login redeems a fresh token and returns the session cookie.
func login(t *testing.T, s *Server, ts *httptest.Server) *http.Cookie {
	t.Helper()
	tok, _ := s.NewToken()
	c := noRedirect()
	c.Transport = ts.Client().Transport
	resp, err := c.Get(ts.URL + "/login?token=" + url.QueryEscape(tok))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatal("login set no session cookie")
	return nil
}

func do(t *testing.T, ts *httptest.Server, method, path string, cookie *http.Cookie, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestLoginCookieFlags(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		s, _, _, ts := newTest(t, tlsOn)
		c := login(t, s, ts)
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != tlsOn {
			t.Errorf("tls=%v: cookie flags: HttpOnly=%v SameSite=%v Path=%q Secure=%v", tlsOn, c.HttpOnly, c.SameSite, c.Path, c.Secure)
		}
		resp, body := do(t, ts, "GET", "/", c, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, "/assets/app.js") {
			t.Errorf("tls=%v: index with session: %s", tlsOn, resp.Status)
		}
	}
}

func TestTokenWorksOnce(t *testing.T) {
	s, api, _, ts := newTest(t, false)
	tok, _ := s.NewToken()
	c := noRedirect()
	first, err := c.Get(ts.URL + "/login?token=" + tok)
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	if first.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %s", first.Status)
	}
	second, err := c.Get(ts.URL + "/login?token=" + tok)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(second.Body)
	second.Body.Close()
	if second.StatusCode != http.StatusUnauthorized || len(second.Cookies()) != 0 || !strings.Contains(string(body), "berth dashboard") {
		t.Fatalf("reused token: %s, cookies %v", second.Status, second.Cookies())
	}
	if len(api.calls()) != 0 {
		t.Fatalf("the API was called: %v", api.calls())
	}
}

func TestWrongAndExpiredTokens(t *testing.T) {
	s, _, clk, ts := newTest(t, false)
	tok, _ := s.NewToken()
	clk.add(TokenTTL)
	for name, tk := range map[string]string{"expired": tok, "wrong": "not-a-token", "empty": ""} {
		resp, body := do(t, ts, "GET", "/login?token="+url.QueryEscape(tk), nil, nil)
		if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 || strings.Contains(body, "app.js") {
			t.Errorf("%s token: %s, cookies %v", name, resp.Status, resp.Cookies())
		}
	}
}

func TestNoSessionNoData(t *testing.T) {
	s, api, clk, ts := newTest(t, false)
	forged := &http.Cookie{Name: CookieName, Value: "forged"}
	for _, c := range []*http.Cookie{nil, forged} {
		for _, p := range []string{"/api/v1.47/containers/json", "/session", "/ws/exec?container=c1", "/ws/stats"} {
			resp, body := do(t, ts, "GET", p, c, nil)
			if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "secret-name") {
				t.Errorf("%s with cookie %v: %s %s", p, c, resp.Status, body)
			}
		}
		resp, body := do(t, ts, "GET", "/", c, nil)
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "app.js") {
			t.Errorf("index without a session: %s", resp.Status)
		}
	}
	// A session ends after SessionTTL.
	c := login(t, s, ts)
	clk.add(SessionTTL)
	if resp, _ := do(t, ts, "GET", "/api/containers/json", c, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired session: %s", resp.Status)
	}
	if n := len(api.calls()); n != 0 {
		t.Fatalf("the API was reached without a session: %v", api.calls())
	}
}

func csrfOf(t *testing.T, ts *httptest.Server, c *http.Cookie) string {
	t.Helper()
	resp, body := do(t, ts, "GET", "/session", c, nil)
	var v struct{ CSRF string }
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &v) != nil || len(v.CSRF) < 32 {
		t.Fatalf("/session: %s %s", resp.Status, body)
	}
	return v.CSRF
}

func TestCSRF(t *testing.T) {
	s, api, _, ts := newTest(t, false)
	c := login(t, s, ts)
	token := csrfOf(t, ts, c)
	if resp, body := do(t, ts, "GET", "/api/v1.47/containers/json", c, nil); resp.StatusCode != 200 || !strings.Contains(body, "secret-name") {
		t.Fatalf("GET with session: %s %s", resp.Status, body)
	}
	for name, hdr := range map[string]map[string]string{
		"none": nil, "wrong": {CSRFHeader: "x" + token}, "other session's": {CSRFHeader: csrfOf(t, ts, login(t, s, ts))},
	} {
		for _, m := range []string{"POST", "DELETE", "PUT"} {
			if resp, _ := do(t, ts, m, "/api/containers/c1/stop", c, hdr); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s with %s CSRF token: %s", m, name, resp.Status)
			}
		}
	}
	for _, call := range api.calls() {
		if !strings.HasPrefix(call, "GET") {
			t.Fatalf("a state-changing call got through without the CSRF token: %s", call)
		}
	}
	if resp, _ := do(t, ts, "POST", "/api/containers/c1/stop", c, map[string]string{CSRFHeader: token}); resp.StatusCode != 200 {
		t.Fatalf("POST with the CSRF token: %s", resp.Status)
	}
	if calls := api.calls(); calls[len(calls)-1] != "POST /containers/c1/stop" {
		t.Fatalf("the API got %v", calls)
	}
	// Logging out ends the session.
	if resp, _ := do(t, ts, "POST", "/logout", c, map[string]string{CSRFHeader: token}); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %s", resp.Status)
	}
	if resp, _ := do(t, ts, "GET", "/api/containers/json", c, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %s", resp.Status)
	}
}

func wsURL(ts *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(ts.URL, "http") + path
}

func TestWebSocketOrigin(t *testing.T) {
	s, api, _, ts := newTest(t, false)
	c := login(t, s, ts)
	for _, origin := range []string{"", "http://evil.example", "http://127.0.0.1:1", "https://" + strings.TrimPrefix(ts.URL, "http://")} {
		h := http.Header{"Cookie": {c.String()}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		for _, p := range []string{"/ws/exec?container=c1", "/ws/stats", "/api/containers/c1/attach/ws"} {
			ws, resp, err := websocket.DefaultDialer.Dial(wsURL(ts, p), h)
			if err == nil {
				ws.Close()
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s from Origin %q: %v", p, origin, resp)
			}
		}
	}
	if len(api.calls()) != 0 {
		t.Fatalf("a WebSocket from another origin reached the API: %v", api.calls())
	}
}

// TestConsoleBridge drives the exec bridge end to end against a fake API
// that hijacks exec start and echoes upper-cased input.
func TestConsoleBridge(t *testing.T) {
	s, api, _, ts := newTest(t, false)
	c := login(t, s, ts)
	h := http.Header{"Cookie": {c.String()}, "Origin": {ts.URL}}
	ws, resp, err := websocket.DefaultDialer.Dial(wsURL(ts, "/ws/exec?container=c1&cols=80&rows=24"), h)
	if err != nil {
		t.Fatalf("dial: %v %v", err, resp)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"resize":[100,30]}`)); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte("echo hi\n")); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got string
	for !strings.Contains(got, "ECHO HI") {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, got)
		}
		got += string(b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !contains(api.calls(), "POST /exec/e1/resize") {
		if time.Now().After(deadline) {
			t.Fatalf("resize never reached the API: %v", api.calls())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestHeadersAndNoInlineScript(t *testing.T) {
	s, _, _, ts := newTest(t, false)
	c := login(t, s, ts)
	for _, p := range []string{"/", "/login?token=x", "/assets/app.js", "/api/containers/json"} {
		resp, _ := do(t, ts, "GET", p, c, nil)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "script-src 'self' 'unsafe") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: CSP %q, X-Frame-Options %q", p, csp, resp.Header.Get("X-Frame-Options"))
		}
	}
	// The pages themselves carry no inline script or handler attributes.
	for _, name := range []string{"index.html", "login.html"} {
		b, err := distFS.ReadFile("dist/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAllString(string(b), -1) {
			if !strings.Contains(m, "src=") {
				t.Errorf("%s: inline script %s", name, m)
			}
		}
		if regexp.MustCompile(`(?i)\son[a-z]+=`).Match(b) {
			t.Errorf("%s has an inline event handler", name)
		}
	}
}

func TestLoopbackHostOnly(t *testing.T) {
	_, _, _, ts := newTest(t, false)
	resp, _ := do(t, ts, "GET", "/", nil, map[string]string{})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("127.0.0.1: %s", resp.Status)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/login?token=x", nil)
	req.Host = "rebound.example:9090"
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host on a loopback dashboard: %s", r2.Status)
	}
}

func TestTokensAndSessionsBounded(t *testing.T) {
	a := newAuth(nil)
	var first string
	for i := 0; i < maxTokens*2; i++ {
		tok, _ := a.NewToken()
		if i == 0 {
			first = tok
		}
	}
	if len(a.tokens) > maxTokens {
		t.Fatalf("%d tokens kept", len(a.tokens))
	}
	if _, _, ok := a.Redeem(first); ok {
		t.Fatal("the oldest token survived the bound")
	}
	for i := 0; i < maxSessions+5; i++ {
		tok, _ := a.NewToken()
		if _, _, ok := a.Redeem(tok); !ok {
			t.Fatal("fresh token refused")
		}
	}
	if len(a.sessions) > maxSessions {
		t.Fatalf("%d sessions kept", len(a.sessions))
	}
}

func TestTokenRoute(t *testing.T) {
	for p, want := range map[string]bool{
		"/berth/dashboard/token": true, "/v1.47/berth/dashboard/token": true,
		"/api/berth/dashboard/token": false, "/berth/dashboard/token/x": false, "/v1.47/containers/json": false,
	} {
		if IsTokenRoute(p) != want {
			t.Errorf("IsTokenRoute(%q) = %v", p, !want)
		}
	}
	s, _, _, _ := newTest(t, false)
	rec := httptest.NewRecorder()
	s.ServeToken(rec, httptest.NewRequest("POST", TokenPath, nil), "http://127.0.0.1:9090")
	var tr TokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil || !strings.HasPrefix(tr.URL, "http://127.0.0.1:9090/login?token=") || tr.Token == "" {
		t.Fatalf("token route: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	s.ServeToken(rec, httptest.NewRequest("GET", TokenPath, nil), "http://127.0.0.1:9090")
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET token route: %d", rec.Code)
	}
}

func TestSampleOf(t *testing.T) {
	st := &container.StatsResponse{Read: time.Unix(10, 0)}
	st.CPUStats.CPUUsage.TotalUsage, st.PreCPUStats.CPUUsage.TotalUsage = 3e9, 2e9
	st.CPUStats.SystemUsage, st.PreCPUStats.SystemUsage = 104e9, 100e9
	st.CPUStats.OnlineCPUs = 2
	st.MemoryStats.Usage, st.MemoryStats.Stats = 1000, map[string]uint64{"inactive_file": 300}
	st.Networks = map[string]container.NetworkStats{"eth0": {RxBytes: 5, TxBytes: 7}, "eth1": {RxBytes: 1, TxBytes: 1}}
	st.BlkioStats.IoServiceBytesRecursive = []container.BlkioStatEntry{{Op: "read", Value: 11}, {Op: "Write", Value: 13}}
	s := sampleOf("c", st)
	if s.CPU != 50 || s.Mem != 700 || s.Rx != 6 || s.Tx != 8 || s.BlkRead != 11 || s.BlkWrite != 13 || s.T != 10000 {
		t.Fatalf("%+v", s)
	}
}

func FuzzLoopbackHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9090", "[::1]:1", "localhost", "evil.example:9090", "127.0.0.1.evil:1", "[::ffff:127.0.0.1]:2"} {
		f.Add(s)
	}
	// A Host that names anything but an IP literal or localhost (a DNS
	// name an attacker could rebind) is never taken for loopback.
	f.Fuzz(func(t *testing.T, host string) {
		rest := strings.ReplaceAll(strings.ToLower(host), "localhost", "")
		if loopbackHost(host) && strings.ContainsAny(rest, "ghijklmnopqrstuvwxyz") {
			t.Fatalf("%q accepted as loopback", host)
		}
	})
}
