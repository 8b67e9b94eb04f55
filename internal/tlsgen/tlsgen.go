// Package tlsgen makes the certificates a remote berthd needs: a CA, a
// server certificate naming the host's names and addresses, and client
// certificates, written with safe modes (keys 0400, certificates 0444).
package tlsgen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Options for Generate.
type Options struct {
	// Dir receives ca.pem, ca-key.pem, server-cert.pem, server-key.pem.
	Dir string
	// ClientDir receives ca.pem, cert.pem, key.pem (DOCKER_CERT_PATH layout).
	ClientDir string
	// Hosts are DNS names and IP addresses for the server certificate; the
	// host's own names and addresses are added.
	Hosts []string
	// Validity of the certificates (default 825 days).
	Validity time.Duration
	// ClientName is the client certificate's common name.
	ClientName string
}

// Generate writes a new CA (or reuses one already in Dir), a server
// certificate and a client certificate.
func Generate(o Options) error {
	if o.Validity == 0 {
		o.Validity = 825 * 24 * time.Hour
	}
	if o.ClientName == "" {
		o.ClientName = "client"
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return err
	}
	caCert, caKey, err := loadOrCreateCA(o.Dir, o.Validity)
	if err != nil {
		return err
	}
	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, o.Hosts...)
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				hosts = append(hosts, ipn.IP.String())
			}
		}
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "berthd"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if err := issue(tmpl, caCert, caKey, o.Validity, filepath.Join(o.Dir, "server-cert.pem"), filepath.Join(o.Dir, "server-key.pem")); err != nil {
		return err
	}
	if o.ClientDir != "" {
		if err := os.MkdirAll(o.ClientDir, 0o700); err != nil {
			return err
		}
		ctmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: o.ClientName},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := issue(ctmpl, caCert, caKey, o.Validity, filepath.Join(o.ClientDir, "cert.pem"), filepath.Join(o.ClientDir, "key.pem")); err != nil {
			return err
		}
		if err := writePEM(filepath.Join(o.ClientDir, "ca.pem"), "CERTIFICATE", caCert.Raw, 0o444); err != nil {
			return err
		}
	}
	return nil
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func loadOrCreateCA(dir string, validity time.Duration) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	if certPEM, err := os.ReadFile(certPath); err == nil {
		keyPEM, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, nil, fmt.Errorf("CA certificate %s exists but its key %s cannot be read: %w", certPath, keyPath, err)
		}
		cb, _ := pem.Decode(certPEM)
		kb, _ := pem.Decode(keyPEM)
		if cb == nil || kb == nil {
			return nil, nil, errors.New("existing CA files are not PEM")
		}
		cert, err := x509.ParseCertificate(cb.Bytes)
		if err != nil {
			return nil, nil, err
		}
		key, err := x509.ParseECPrivateKey(kb.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("existing CA key: %w", err)
		}
		return cert, key, nil
	}
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Berth CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := writePEM(keyPath, "EC PRIVATE KEY", kder, 0o400); err != nil {
		return nil, nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o444); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func issue(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, validity time.Duration, certPath, keyPath string) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(validity)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(keyPath, "EC PRIVATE KEY", kder, 0o400); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o444)
}

// writePEM replaces path atomically with the given mode.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: typ, Bytes: der}); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	return os.Rename(tmp, path)
}
