package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/berth-dev/berth/web"
)

// The dashboard (web/) is served on its own listener, --ui-addr
// (daemon.json "ui-addr"), off when unset. Its /api/ calls go to the same
// Engine API handler the -H listeners serve; the route that makes login
// tokens lives on the -H listeners only, next to that handler.

// uiAddr parses ui-addr: host:port, loopback unless TLS is on (a page on
// a non-loopback address is served only over TLS, with the daemon's
// certificates, as plain TCP is refused for the API).
func (c *Config) uiAddr() (host, port string, loopback bool, err error) {
	host, port, err = net.SplitHostPort(c.UIAddr)
	if err != nil || port == "" {
		return "", "", false, fmt.Errorf("invalid ui-addr %q: want host:port, e.g. 127.0.0.1:9090", c.UIAddr)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && ip == nil {
		return "", "", false, fmt.Errorf("invalid ui-addr %q: the host must be an IP address or localhost", c.UIAddr)
	}
	loopback = host == "localhost" || ip.IsLoopback()
	if !loopback && !c.tlsOn() {
		return "", "", false, fmt.Errorf("refusing to serve the dashboard without TLS on %s: use --tls or --tlsverify (certificates from `berthd certs`), or listen on 127.0.0.1", c.UIAddr)
	}
	return host, port, loopback, nil
}

// listenUI opens the dashboard's listener (nil when it is off).
func (d *Daemon) listenUI() (net.Listener, error) {
	if d.cfg.UIAddr == "" {
		return nil, nil
	}
	_, _, loopback, err := d.cfg.uiAddr()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", d.cfg.UIAddr)
	if err != nil {
		return nil, fmt.Errorf("ui-addr: %w", err)
	}
	if loopback {
		return l, nil
	}
	tc, err := serverTLS(d.cfg)
	if err != nil {
		l.Close()
		return nil, err
	}
	// Browsers log in with the one-time token, not client certificates.
	tc.ClientAuth, tc.ClientCAs = tls.NoClientCert, nil
	return tls.NewListener(l, tc), nil
}

// uiBase is the dashboard's address as a browser reaches it.
func (d *Daemon) uiBase(l net.Listener) string {
	host, _, loopback, _ := d.cfg.uiAddr()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	scheme := "http"
	if !loopback {
		scheme = "https"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host, _ = os.Hostname()
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// serveUI starts the dashboard on l and returns the API handler with the
// token route added. With the dashboard off, the token route says so.
func (d *Daemon) serveUI(l net.Listener, apiHandler http.Handler, errCh chan<- error) http.Handler {
	if l == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if web.IsTokenRoute(r.URL.Path) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprintln(w, `{"message":"the dashboard is off: start berthd with --ui-addr 127.0.0.1:9090 (daemon.json \"ui-addr\")"}`)
				return
			}
			apiHandler.ServeHTTP(w, r)
		})
	}
	_, _, loopback, _ := d.cfg.uiAddr()
	ui := web.New(web.Options{API: apiHandler, TLS: !loopback, Loopback: loopback, Log: d.log})
	srv := &http.Server{
		Handler: ui, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return d.reqCtx },
		// Handshake failures and the like go to berthd's log, at debug.
		ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
	d.servers = append(d.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errCh <- err
		}
	}()
	base := d.uiBase(l)
	d.log.Info("dashboard: serving; `berth dashboard` prints a login link", "addr", base)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.IsTokenRoute(r.URL.Path) {
			ui.ServeToken(w, r, base)
			return
		}
		apiHandler.ServeHTTP(w, r)
	})
}
