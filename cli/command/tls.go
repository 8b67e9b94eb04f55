package command

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/cli/client"
)

// TLSOptions are the client's TLS settings, as docker takes them.
type TLSOptions struct {
	TLS, Verify       bool
	CACert, Cert, Key string
}

// certDir is where the client looks for ca.pem, cert.pem and key.pem:
// DOCKER_CERT_PATH, then ~/.berth (where `berthd certs` writes them), then
// ~/.docker.
func certDir() string {
	if d := os.Getenv("DOCKER_CERT_PATH"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	if _, err := os.Stat(filepath.Join(home, ".berth", "ca.pem")); err == nil {
		return filepath.Join(home, ".berth")
	}
	return filepath.Join(home, ".docker")
}

// clientOpts returns the client options for these settings, or nil for
// plain connections. --tlsverify (or DOCKER_TLS_VERIFY) checks the daemon's
// certificate against the CA; --tls alone encrypts without checking, as
// docker does.
func (o TLSOptions) clientOpts() ([]client.Opt, error) {
	verify := o.Verify || os.Getenv("DOCKER_TLS_VERIFY") != ""
	if !verify && !o.TLS {
		return nil, nil
	}
	dir := certDir()
	pick := func(v, name string) string {
		if v != "" {
			return v
		}
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	ca, cert, key := pick(o.CACert, "ca.pem"), pick(o.Cert, "cert.pem"), pick(o.Key, "key.pem")
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if verify {
		if ca == "" {
			return nil, fmt.Errorf("--tlsverify needs a CA certificate: none at %s (use --tlscacert or DOCKER_CERT_PATH)", filepath.Join(dir, "ca.pem"))
		}
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("could not read CA certificate %q: %w", ca, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("failed to append certificates from PEM file: %q", ca)
		}
		cfg.RootCAs = pool
	} else {
		cfg.InsecureSkipVerify = true
	}
	if cert != "" && key != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("could not load X509 key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return []client.Opt{client.WithTLSConfig(cfg)}, nil
}
