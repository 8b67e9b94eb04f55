// Package api translates the Docker Engine API over HTTP into engine calls.
// It holds no engine logic: each handler decodes a request, calls one method
// of a narrow backend interface declared next to it, and encodes the answer.
// One file per area (containers.go, images.go, system.go, ...).
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/filters"
	"github.com/berth-dev/berth/internal/version"
)

// APIVersion is the one API version berthd advertises; MinAPIVersion the
// oldest it accepts (as Docker Engine does).
const (
	APIVersion    = "1.47"
	MinAPIVersion = "1.24"
)

// Backends groups the engine services the API needs. Each field is the narrow
// interface its router file declares.
type Backends struct {
	Containers ContainerBackend
	Images     ImageBackend
	System     SystemBackend
	Events     EventsBackend
	Networks   NetworkBackend
	Volumes    VolumeBackend
	Archive    ArchiveBackend
	Build      BuildBackend
	// Distribution may be nil (no registry access: the routes are absent).
	Distribution DistributionBackend
	// BuildKit may be nil (no /grpc, /session; _ping says Builder-Version 1).
	BuildKit BuildKitBackend
}

// Server is the HTTP side of berthd.
type Server struct {
	b   Backends
	mux *http.ServeMux
	log *slog.Logger
}

// New builds the router over the given backends.
func New(b Backends, log *slog.Logger) *Server {
	s := &Server{b: b, mux: http.NewServeMux(), log: log}
	s.systemRoutes()
	s.containerRoutes()
	s.execRoutes()
	s.imageRoutes()
	s.networkRoutes()
	s.volumeRoutes()
	s.archiveRoutes()
	s.buildRoutes(b.Build, b.BuildKit)
	s.buildKitRoutes(b.BuildKit)
	s.swarmRoutes()
	s.pluginRoutes()
	s.distributionRoutes()
	return s
}

// handlerFunc is an http handler that returns an error; errors are written
// as Docker's JSON error body with the status of their kind.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, h handlerFunc) {
	detach := runsToEnd(pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if detach {
			r = r.WithContext(context.WithoutCancel(r.Context()))
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// followsClient lists the state-changing routes that still end when the
// client goes away, as Docker's do: streams (attach, exec start, wait; the
// first two detach their engine call themselves once the stream is set
// up) and transfers whose work is the client's upload or download (pull,
// push, build, load, copy-in).
var followsClient = map[string]bool{
	"POST /containers/{id}/attach": true,
	"POST /containers/{id}/wait":   true,
	"POST /exec/{id}/start":        true,
	"POST /build":                  true,
	"POST /grpc":                   true,
	"POST /session":                true,
	"POST /images/create":          true,
	"POST /images/":                true, // push (and tag)
	"POST /images/load":            true,
	"PUT /containers/{id}/archive": true,
}

// runsToEnd tells whether a route changes state and so, once accepted,
// runs to its end whatever the client does: `timeout 1 docker stop -t 5 c`
// must still stop c, and an interrupted compose recreate must not leave a
// renamed container behind. Reads keep the client's cancellation.
func runsToEnd(pattern string) bool {
	method, _, _ := strings.Cut(pattern, " ")
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodDelete:
		return !followsClient[pattern]
	}
	return false
}

var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

type ctxKey int

const versionKey ctxKey = 0

// ServeHTTP strips and checks the /vX.Y prefix, then dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "Berth/"+version.Version+" (linux)")
	w.Header().Set("Api-Version", APIVersion)
	w.Header().Set("Ostype", "linux")
	version := APIVersion
	if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
		version = m[1]
		r.URL.Path = m[2]
		r.URL.RawPath = ""
		if compareVersions(version, APIVersion) > 0 {
			s.writeError(w, r, errdefs.Invalid("client version %s is too new. Maximum supported API version is %s", version, APIVersion))
			return
		}
		if compareVersions(version, MinAPIVersion) < 0 {
			s.writeError(w, r, errdefs.Invalid("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", version, MinAPIVersion))
			return
		}
	}
	if s.log != nil {
		s.log.Debug("api request", "method", r.Method, "path", r.URL.Path, "version", version)
	}
	r = r.WithContext(context.WithValue(r.Context(), versionKey, version))
	escapeLinkName(r)
	s.mux.ServeHTTP(w, r)
}

// RequestVersion returns the API version the client asked for.
func RequestVersion(r *http.Request) string {
	if v, ok := r.Context().Value(versionKey).(string); ok {
		return v
	}
	return APIVersion
}

// compareVersions compares dotted versions numerically.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if code == http.StatusInternalServerError && s.log != nil {
		s.log.Error("api error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	writeJSON(w, code, map[string]string{"message": err.Error()})
}

// writeJSON writes v as the JSON body with the given status, with its
// Content-Length (not chunked): a client learns the size up front (berth
// reads a large list into one buffer of that size and populates the heap
// its decoding needs first).
func writeJSON(w http.ResponseWriter, code int, v any) error {
	buf := jsonBufs.Get().(*bytes.Buffer)
	defer putJSONBuf(buf)
	buf.Reset()
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return err
	}
	return writeJSONBytes(w, code, buf.Bytes())
}

// writeJSONBytes writes body, JSON already encoded, as writeJSON does.
func writeJSONBytes(w http.ResponseWriter, code int, body []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, err := w.Write(body)
	return err
}

// jsonBufs are writeJSON's buffers, kept between replies so that a large
// one (ps of 200 containers: 160 kB) is not grown from nothing each time.
var jsonBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxKeptJSONBuf is the largest buffer jsonBufs keeps.
const maxKeptJSONBuf = 1 << 20

func putJSONBuf(b *bytes.Buffer) {
	if b.Cap() <= maxKeptJSONBuf {
		jsonBufs.Put(b)
	}
}

// decodeJSON decodes a request body into v; an empty body leaves v as is
// when allowEmpty. Malformed bodies are 400s, as Docker answers them; a body
// over maxJSONBody is a 413.
func decodeJSON(r *http.Request, v any, allowEmpty bool) error {
	return decodeJSONLimit(r, v, allowEmpty, maxJSONBody)
}

// decodeJSONLimit is decodeJSON with the endpoint's own body cap.
func decodeJSONLimit(r *http.Request, v any, allowEmpty bool, limit int64) error {
	if r.Body == nil || r.Body == http.NoBody {
		if allowEmpty {
			return nil
		}
		return errdefs.Invalid("invalid JSON: request body is empty")
	}
	if r.ContentLength > limit {
		return errBodyTooLarge(r, limit)
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, limit))
	if err := dec.Decode(v); err != nil {
		if isTooLarge(err) {
			return errBodyTooLarge(r, limit)
		}
		if errors.Is(err, io.EOF) {
			if allowEmpty {
				return nil
			}
			return errdefs.Invalid("invalid JSON: request body is empty")
		}
		return errdefs.Invalid("invalid JSON: %s", err.Error())
	}
	return nil
}

// boolValue reads a query flag the way Docker does: "", "0", "no", "false"
// and "none" are false, anything else true.
func boolValue(r *http.Request, name string) bool {
	v := strings.ToLower(strings.TrimSpace(r.URL.Query().Get(name)))
	return !(v == "" || v == "0" || v == "no" || v == "false" || v == "none")
}

// intValue reads an integer query parameter, or def when it is absent.
func intValue(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errdefs.Invalid("invalid value for %s: %q", name, v)
	}
	return n, nil
}

// filtersValue decodes Docker's JSON "filters" query parameter, in both the
// current {"key":{"value":true}} and the old {"key":["value"]} shapes. Each
// endpoint then validates the keys it applies (filters.Validate).
func filtersValue(r *http.Request) (map[string][]string, error) {
	return filters.Parse(r.URL.Query().Get("filters"))
}

// errUnsupported is returned for endpoints Berth does not serve yet.
func errUnsupported(what string) error {
	return errdefs.NotImplemented("%s is not supported by this version of berthd", what)
}

// writeJSONBody writes v after the headers were already sent.
func writeJSONBody(w http.ResponseWriter, v any) error {
	return json.NewEncoder(w).Encode(v)
}
