package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// openListeners opens the API's listeners and the dashboard's, if any.
func (d *Daemon) openListeners() ([]net.Listener, error) {
	listeners, err := d.listenAll()
	if err != nil {
		return nil, err
	}
	if d.uiListener, err = d.listenUI(); err != nil {
		closeListeners(listeners)
		return nil, err
	}
	if d.uiListener != nil {
		// Closed with the others when the start fails.
		listeners = append(listeners, d.uiListener)
	}
	return listeners, nil
}

func closeListeners(listeners []net.Listener) {
	for _, l := range listeners {
		l.Close()
	}
}

// listenAll opens every -H listener; on error none stays open.
func (d *Daemon) listenAll() ([]net.Listener, error) {
	var out []net.Listener
	for _, h := range d.cfg.Hosts {
		l, err := d.listen(h)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// listen opens one -H address: unix://path (0660, group berth when it
// exists), tcp://host:port (loopback only until TLS support lands), fd://.
func (d *Daemon) listen(addr string) (net.Listener, error) {
	ha, err := d.cfg.parseHost(addr)
	if err != nil {
		return nil, err
	}
	rest := ha.addr
	switch ha.proto {
	case "unix":
		if err := os.MkdirAll(filepath.Dir(rest), 0o755); err != nil {
			return nil, err
		}
		// checkNotRunning made sure nothing answers on a socket file here.
		if err := os.Remove(rest); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		l, err := net.Listen("unix", rest)
		if err != nil {
			return nil, err
		}
		gid := 0
		if g, err := user.LookupGroup(d.cfg.Group); err == nil {
			gid, _ = strconv.Atoi(g.Gid)
		}
		if err := os.Chown(rest, 0, gid); err != nil {
			l.Close()
			return nil, err
		}
		if err := os.Chmod(rest, 0o660); err != nil {
			l.Close()
			return nil, err
		}
		return l, nil
	case "tcp":
		if d.cfg.tlsOn() {
			tc, err := serverTLS(d.cfg)
			if err != nil {
				return nil, err
			}
			l, err := net.Listen("tcp", rest)
			if err != nil {
				return nil, err
			}
			if tc.ClientAuth != tls.RequireAndVerifyClientCert {
				d.log.Warn("TLS without --tlsverify: clients are not authenticated; anyone who reaches this port controls berthd", "addr", rest)
			}
			return tls.NewListener(l, tc), nil
		}
		if !ha.loopback {
			d.log.Warn("!!! SERVING THE API ON PLAIN TCP WITHOUT TLS !!! Anyone who can reach this address has root on this host", "addr", rest)
		} else {
			d.log.Warn("serving the API on plain TCP on loopback: every local user who can connect controls berthd", "addr", rest)
		}
		return net.Listen("tcp", rest)
	}
	return fdListener(rest)
}

// serverTLS loads the server certificate; with tlsverify, clients must
// present a certificate signed by the CA.
func serverTLS(cfg *Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate (%s, %s): %w; create them with `berthd certs`", cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLSVerify != nil && *cfg.TLSVerify {
		pem, err := os.ReadFile(cfg.TLSCACert)
		if err != nil {
			return nil, fmt.Errorf("load TLS CA %s: %w", cfg.TLSCACert, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate found in %s", cfg.TLSCACert)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// fdListener serves on a socket passed by systemd socket activation.
func fdListener(which string) (net.Listener, error) {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return nil, errors.New("fd:// needs socket activation (LISTEN_PID/LISTEN_FDS not set for this process)")
	}
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if n < 1 {
		return nil, errors.New("fd://: no sockets were passed (LISTEN_FDS)")
	}
	idx := 0
	if which != "" {
		i, err := strconv.Atoi(which)
		if err != nil || i < 3 || i >= 3+n {
			return nil, fmt.Errorf("fd://%s: not one of the passed sockets", which)
		}
		idx = i - 3
	}
	f := os.NewFile(uintptr(3+idx), "listen-fd")
	return net.FileListener(f)
}
