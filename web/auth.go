package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"time"
)

// Lifetimes of what the login hands out. A login token lives long enough
// to click the printed link; a session a working day.
const (
	TokenTTL   = 5 * time.Minute
	SessionTTL = 12 * time.Hour
	// maxTokens bounds the tokens waiting to be used: asking for more
	// drops the oldest, so a loop calling the token route cannot grow
	// berthd's memory.
	maxTokens = 64
	// maxSessions bounds live sessions the same way.
	maxSessions = 256
)

// session is one logged-in browser. Only a hash of its cookie value is
// kept, so a heap dump does not hand out sessions.
type session struct {
	csrf    string
	expires time.Time
	created time.Time
}

// auth holds login tokens and sessions in memory: a restart of berthd logs
// everyone out, which is the safe direction.
type auth struct {
	mu       sync.Mutex
	now      func() time.Time
	tokens   map[string]time.Time // hash of the token -> expiry
	sessions map[string]*session  // hash of the cookie value -> session
}

func newAuth(now func() time.Time) *auth {
	if now == nil {
		now = time.Now
	}
	return &auth{now: now, tokens: map[string]time.Time{}, sessions: map[string]*session{}}
}

// randomString is 32 random bytes, URL-safe.
func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// NewToken makes a one-time login token and says until when it is valid.
func (a *auth) NewToken() (string, time.Time) {
	tok := randomString()
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	pruneExpired(a.tokens, now, func(t time.Time) time.Time { return t })
	if len(a.tokens) >= maxTokens {
		dropOldest(a.tokens, func(t time.Time) time.Time { return t })
	}
	exp := now.Add(TokenTTL)
	a.tokens[hashOf(tok)] = exp
	return tok, exp
}

// Redeem exchanges a token, once, for a new session: it returns the
// cookie value and the session. A token used before, expired or never
// issued gives ok=false.
func (a *auth) Redeem(token string) (cookie string, s *session, ok bool) {
	if token == "" {
		return "", nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	h := hashOf(token)
	exp, found := a.tokens[h]
	if !found {
		return "", nil, false
	}
	delete(a.tokens, h) // used or expired: either way it is gone
	if !now.Before(exp) {
		return "", nil, false
	}
	pruneExpired(a.sessions, now, func(s *session) time.Time { return s.expires })
	if len(a.sessions) >= maxSessions {
		dropOldest(a.sessions, func(s *session) time.Time { return s.created })
	}
	cookie = randomString()
	s = &session{csrf: randomString(), expires: now.Add(SessionTTL), created: now}
	a.sessions[hashOf(cookie)] = s
	return cookie, s, true
}

// Session returns the live session for a cookie value, or nil.
func (a *auth) Session(cookie string) *session {
	if cookie == "" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	h := hashOf(cookie)
	s := a.sessions[h]
	if s == nil {
		return nil
	}
	if !a.now().Before(s.expires) {
		delete(a.sessions, h)
		return nil
	}
	return s
}

// End logs a session out.
func (a *auth) End(cookie string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, hashOf(cookie))
}

// csrfOK compares the token a request carries with its session's, in
// constant time.
func (s *session) csrfOK(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

func pruneExpired[V any](m map[string]V, now time.Time, expiry func(V) time.Time) {
	for k, v := range m {
		if !now.Before(expiry(v)) {
			delete(m, k)
		}
	}
}

func dropOldest[V any](m map[string]V, age func(V) time.Time) {
	var oldest string
	var at time.Time
	for k, v := range m {
		if oldest == "" || age(v).Before(at) {
			oldest, at = k, age(v)
		}
	}
	delete(m, oldest)
}
