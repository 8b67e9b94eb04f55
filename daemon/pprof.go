package daemon

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strings"
)

// withProfiler serves Go's profiles under /debug/pprof/ on the API socket
// while berthd logs at debug level (--debug, "debug": true, or a reload
// to log-level debug), as dockerd does (started in debug mode, it also samples mutex
// contention); otherwise those paths are the
// API's own 404. The profiles need access to the socket, which is root's.
func withProfiler(level *slog.LevelVar, next http.Handler) http.Handler {
	if level.Level() <= slog.LevelDebug {
		runtime.SetMutexProfileFraction(10) // for /debug/pprof/mutex
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/debug/pprof/") && level.Level() <= slog.LevelDebug {
			mux.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
