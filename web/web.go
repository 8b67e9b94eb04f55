// Package web serves the berthd dashboard: a page embedded in the binary
// that drives the engine through the daemon's own Docker Engine API
// handler, mounted under /api/ behind a one-time-token login. There is no
// second engine code path: what the page shows is what `docker` sees.
//
// Security model: a login token comes only from the API socket (berth
// dashboard); it is exchanged once for an HttpOnly, SameSite=Strict session
// cookie; every request that changes state carries the session's CSRF
// token in a header; WebSockets must come from the page's own origin; the
// Content-Security-Policy allows no inline script.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

//go:embed dist
var distFS embed.FS

// CookieName names the session cookie.
const CookieName = "berth_session"

// CSRFHeader carries the session's CSRF token on state-changing requests.
const CSRFHeader = "X-Berth-Csrf"

// contentSecurityPolicy allows the page's own scripts only (no inline
// script, no eval). Inline style stays allowed: xterm.js sizes its rows
// with a style element.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Options configures a Server.
type Options struct {
	// API is the daemon's Engine API handler; the page's /api/ calls are
	// served by it.
	API http.Handler
	// TLS tells that the page is served over HTTPS: the cookie is Secure.
	TLS bool
	// Loopback tells that the listener is on a loopback address: requests
	// must then name a loopback host (no DNS rebinding).
	Loopback bool
	Log      *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Server is the dashboard's HTTP side.
type Server struct {
	opts   Options
	auth   *auth
	mux    *http.ServeMux
	assets fs.FS
}

// New returns the dashboard server.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(distFS, "dist")
	if err != nil {
		panic(err)
	}
	s := &Server{opts: o, auth: newAuth(o.Now), mux: http.NewServeMux(), assets: sub}
	s.mux.HandleFunc("GET /login", s.login)
	s.mux.HandleFunc("POST /logout", s.withSession(s.logout))
	s.mux.HandleFunc("GET /session", s.withSession(s.sessionInfo))
	s.mux.Handle("GET /assets/", http.FileServerFS(sub))
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.mux.HandleFunc("/api/", s.withSession(s.api))
	s.mux.HandleFunc("GET /ws/exec", s.withSession(s.execWS))
	s.mux.HandleFunc("GET /ws/stats", s.withSession(s.statsWS))
	s.mux.HandleFunc("GET /{$}", s.index)
	return s
}

// NewToken makes a one-time login token (for the token route on the API
// socket) and says until when it may be used.
func (s *Server) NewToken() (string, time.Time) { return s.auth.NewToken() }

// ServeHTTP applies the headers every answer carries, refuses foreign
// Host names on a loopback listener, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/assets/") {
		h.Set("Cache-Control", "no-store")
	}
	if s.opts.Loopback && !loopbackHost(r.Host) {
		http.Error(w, "this dashboard answers only to a loopback host name (127.0.0.1, [::1], localhost)", http.StatusMisdirectedRequest)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// loopbackHost tells whether a Host header names this machine's loopback.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// login exchanges a one-time token for a session cookie. Any failure
// (unknown, used, expired token) shows the login page with 401.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	cookie, _, ok := s.auth.Redeem(r.URL.Query().Get("token"))
	if !ok {
		s.opts.Log.Info("dashboard: login refused (unknown, used or expired token)", "remote", r.RemoteAddr)
		s.loginPage(w, http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: cookie, Path: "/", HttpOnly: true, Secure: s.opts.TLS,
		SameSite: http.SameSiteStrictMode, MaxAge: int(SessionTTL / time.Second),
	})
	s.opts.Log.Info("dashboard: logged in", "remote", r.RemoteAddr)
	// Leave the token out of the address bar and the history.
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) loginPage(w http.ResponseWriter, code int) {
	s.serveFile(w, "login.html", code)
}

func (s *Server) serveFile(w http.ResponseWriter, name string, code int) {
	b, err := fs.ReadFile(s.assets, name)
	if err != nil {
		http.Error(w, "dashboard assets missing: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b)
}

// index serves the application to a logged-in browser, the login page to
// anyone else.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	if s.sessionOf(r) == nil {
		s.loginPage(w, http.StatusUnauthorized)
		return
	}
	s.serveFile(w, "index.html", http.StatusOK)
}

func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil
	}
	return s.auth.Session(c.Value)
}

// withSession lets a request through only with a live session; one that
// changes state also needs the session's CSRF token, and a WebSocket the
// page's own origin.
func (s *Server) withSession(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessionOf(r)
		if sess == nil {
			jsonError(w, http.StatusUnauthorized, "not logged in: run `berth dashboard` for a login link")
			return
		}
		if isWebSocket(r) {
			if !s.sameOrigin(r) {
				jsonError(w, http.StatusForbidden, "WebSocket refused: its Origin is not this dashboard")
				return
			}
		} else if !safeMethod(r.Method) && !sess.csrfOK(r.Header.Get(CSRFHeader)) {
			jsonError(w, http.StatusForbidden, "missing or wrong CSRF token")
			return
		}
		next(w, r, sess)
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// sameOrigin tells whether the request's Origin is this dashboard: the
// scheme it is served with and the host the browser connected to.
func (s *Server) sameOrigin(r *http.Request) bool {
	scheme := "http://"
	if s.opts.TLS {
		scheme = "https://"
	}
	o := r.Header.Get("Origin")
	return o != "" && strings.EqualFold(o, scheme+r.Host)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *session) {
	if c, err := r.Cookie(CookieName); err == nil {
		s.auth.End(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.opts.TLS, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// sessionInfo gives the page its CSRF token.
func (s *Server) sessionInfo(w http.ResponseWriter, r *http.Request, sess *session) {
	writeJSON(w, http.StatusOK, map[string]any{"csrf": sess.csrf, "expires": sess.expires.UTC().Format(time.RFC3339)})
}

// api hands /api/<route> to the Engine API handler as <route>. The
// daemon-only route that makes login tokens is not part of it: a page may
// not mint logins.
func (s *Server) api(w http.ResponseWriter, r *http.Request, _ *session) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/api")
	r2.URL.RawPath = ""
	r2.RequestURI = ""
	s.opts.API.ServeHTTP(w, r2)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// jsonError answers in the Engine API's error shape, so the page reads
// its own and the engine's errors alike.
func jsonError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}
