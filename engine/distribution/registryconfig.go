package distribution

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
)

// Docker's defaults for max-concurrent-downloads and -uploads.
const (
	defaultMaxDownloads = 3
	defaultMaxUploads   = 5
)

// registryConfig is the daemon's registry settings (daemon.json keys
// insecure-registries, registry-mirrors, max-concurrent-downloads and
// max-concurrent-uploads), already validated.
type registryConfig struct {
	insecureNets  []*net.IPNet
	insecureHosts map[string]bool // "host" or "host:port", lower case
	mirrors       []*url.URL
	maxDownloads  int
	maxUploads    int
}

// registrySettings guards the current registryConfig; it is swapped whole.
type registrySettings struct {
	mu  sync.RWMutex
	cfg *registryConfig
}

func defaultRegistryConfig() *registryConfig {
	return &registryConfig{insecureHosts: map[string]bool{}, maxDownloads: defaultMaxDownloads, maxUploads: defaultMaxUploads}
}

// SetRegistryConfig applies the daemon's registry settings; it may be called
// again (on reload) at any time and affects pulls and pushes started after.
//
// insecure lists registries spoken to without TLS verification, falling
// back to plain HTTP, as Docker does: CIDRs ("10.0.0.0/8") matched against
// the registry's addresses, or "host[:port]". Loopback registries
// (localhost, 127.0.0.0/8, ::1) are always insecure. mirrors are URLs
// ("https://mirror.example", "http://127.0.0.1:5001") tried in order for
// Docker Hub pulls before Docker Hub itself. maxDownloads and maxUploads
// bound the layers transferred at once per pull and per push; 0 means
// Docker's default (3 and 5). An invalid entry is an errdefs.Invalid error
// and changes nothing.
func (s *Service) SetRegistryConfig(insecure, mirrors []string, maxDownloads, maxUploads int) error {
	cfg := defaultRegistryConfig()
	for _, e := range insecure {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "://") {
			return errdefs.Invalid("insecure registry %s should not contain '://'", e)
		}
		if _, ipnet, err := net.ParseCIDR(e); err == nil {
			cfg.insecureNets = append(cfg.insecureNets, ipnet)
			continue
		}
		cfg.insecureHosts[strings.ToLower(strings.TrimSuffix(e, "/"))] = true
	}
	for _, m := range mirrors {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		u, err := url.Parse(m)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errdefs.Invalid("invalid mirror: %q is not a valid URI (use http:// or https:// and a host)", m)
		}
		if strings.Trim(u.Path, "/") != "" {
			return errdefs.Invalid("invalid mirror: path %q is not supported: a mirror is a registry root", u.Path)
		}
		cfg.mirrors = append(cfg.mirrors, u)
	}
	if maxDownloads < 0 || maxUploads < 0 {
		return errdefs.Invalid("max-concurrent-downloads and max-concurrent-uploads must not be negative")
	}
	if maxDownloads > 0 {
		cfg.maxDownloads = maxDownloads
	}
	if maxUploads > 0 {
		cfg.maxUploads = maxUploads
	}
	s.registry.mu.Lock()
	s.registry.cfg = cfg
	s.registry.mu.Unlock()
	return nil
}

func (s *Service) registryCfg() *registryConfig {
	s.registry.mu.RLock()
	defer s.registry.mu.RUnlock()
	if s.registry.cfg == nil {
		return defaultRegistryConfig()
	}
	return s.registry.cfg
}

// insecure reports whether registry host ("host[:port]") is spoken to
// without TLS verification and with plain HTTP as a fallback.
func (c *registryConfig) insecure(host string) bool {
	host = strings.ToLower(host)
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" || c.insecureHosts[host] || c.insecureHosts[h] {
		return true
	}
	ips := []net.IP{net.ParseIP(h)}
	if ips[0] == nil {
		// A name: Docker matches its addresses against the CIDRs (and
		// loopback addresses are insecure by default).
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, h)
		if err != nil {
			return false
		}
		ips = ips[:0]
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, ip := range ips {
		if ip.IsLoopback() {
			return true
		}
		for _, n := range c.insecureNets {
			if n.Contains(ip) {
				return true
			}
		}
	}
	return false
}

// endpoint is one registry to try for a reference: the registry it names,
// or a mirror of Docker Hub.
type endpoint struct {
	host     string // "host[:port]" as go-containerregistry spells it
	insecure bool   // skip TLS verification, fall back to HTTP
	plain    bool   // http:// only (a mirror given with http://)
	mirror   bool
}

// endpoints lists where to look for n, mirrors first for Docker Hub.
func (c *registryConfig) endpoints(n reference.Named) []endpoint {
	var out []endpoint
	domain := reference.Domain(n)
	if domain == "docker.io" {
		for _, m := range c.mirrors {
			out = append(out, endpoint{host: m.Host, insecure: m.Scheme == "http" || c.insecure(m.Host), plain: m.Scheme == "http", mirror: true})
		}
	}
	return append(out, endpoint{host: domain, insecure: domain != "docker.io" && c.insecure(domain)})
}

// ref turns n into go-containerregistry's reference on endpoint e (the same
// repository path on a mirror).
func (e endpoint) ref(n reference.Named) (name.Reference, error) {
	var opts []name.Option
	if e.insecure {
		opts = append(opts, name.Insecure)
	}
	s := e.host + "/" + reference.Path(n)
	switch {
	case reference.Digest(n) != "":
		// name:tag@digest: the digest decides.
		s += "@" + reference.Digest(n)
	case reference.Tag(n) != "":
		s += ":" + reference.Tag(n)
	}
	r, err := name.ParseReference(s, opts...)
	if err != nil {
		return nil, errdefs.Invalid("invalid reference format")
	}
	return r, nil
}

func (e endpoint) repo(n reference.Named) (name.Repository, error) {
	return e.repoPath(reference.Path(n))
}

// repoPath is the repository path ("library/busybox") on e.
func (e endpoint) repoPath(path string) (name.Repository, error) {
	var opts []name.Option
	if e.insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.NewRepository(e.host+"/"+path, opts...)
	if err != nil {
		return name.Repository{}, errdefs.Invalid("invalid reference format")
	}
	return r, nil
}

var (
	insecureTransportOnce sync.Once
	insecureTransport     http.RoundTripper
)

// transport is the HTTP transport for e: unverified TLS for insecure
// registries (go-containerregistry then falls back to HTTP by itself).
func (e endpoint) transport() http.RoundTripper {
	if !e.insecure {
		return remote.DefaultTransport
	}
	insecureTransportOnce.Do(func() {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // insecure-registries asks for exactly this
		insecureTransport = t
	})
	return insecureTransport
}

// remoteOptions are the go-containerregistry options for a transfer with e.
func (e endpoint) remoteOptions(ctx context.Context, auth authn.Authenticator, jobs int) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx), remote.WithAuth(auth), remote.WithUserAgent("berth"),
		remote.WithTransport(e.transport()),
	}
	if jobs > 0 {
		opts = append(opts, remote.WithJobs(jobs))
	}
	return opts
}

// String names e in logs and errors.
func (e endpoint) String() string {
	if e.plain {
		return "http://" + e.host
	}
	return e.host
}
