package web

import (
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// TokenPath is the route on the daemon's API socket that makes a login
// token (berth dashboard calls it). It is served next to the Engine API,
// never under the dashboard's /api/.
const TokenPath = "/berth/dashboard/token"

// TokenResponse is what the token route answers.
type TokenResponse struct {
	Token   string
	URL     string // the login link: <base>/login?token=...
	Expires time.Time
}

var tokenRoute = regexp.MustCompile(`^(/v[0-9]+\.[0-9]+)?` + regexp.QuoteMeta(TokenPath) + `$`)

// IsTokenRoute tells whether a request path (with or without the API's
// /vX.Y prefix) is the token route.
func IsTokenRoute(path string) bool { return tokenRoute.MatchString(path) }

// ServeToken answers POST on the token route: a fresh one-time login
// token and the link that carries it. base is the dashboard's address as
// a browser reaches it (http://127.0.0.1:9090).
func (s *Server) ServeToken(w http.ResponseWriter, r *http.Request, base string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		jsonError(w, http.StatusMethodNotAllowed, "use POST "+TokenPath)
		return
	}
	tok, exp := s.NewToken()
	writeJSON(w, http.StatusOK, TokenResponse{
		Token: tok, URL: base + "/login?token=" + url.QueryEscape(tok), Expires: exp.UTC(),
	})
}
