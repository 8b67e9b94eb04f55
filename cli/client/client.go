// Package client is berth's own client for the Docker Engine API that
// berthd speaks: an http.Client over the daemon's unix socket or TCP (TLS
// when configured), API version negotiation, errors decoded from the
// daemon's JSON "message", hijacked attach/exec streams. The request and
// response shapes are moby's API types. It replaces the moby client in the
// berth CLI, whose package initialisation (OpenTelemetry, the image
// reference grammar's regular expressions) cost every berth command a
// large part of its start-up; its methods keep the moby client's
// signatures so the commands read the same.
package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
)

const (
	// MaxAPIVersion is the newest API version the client speaks; the
	// version actually used is negotiated down to the daemon's.
	MaxAPIVersion = "1.56"
	// MinAPIVersion is the oldest daemon API version the client accepts.
	MinAPIVersion = "1.40"
	// DummyHost is the Host header of requests over a unix socket.
	DummyHost = "api.moby.localhost"
	// EnvOverrideAPIVersion pins the API version (no negotiation).
	EnvOverrideAPIVersion = "DOCKER_API_VERSION"
	// defaultTimeout bounds a TCP connect.
	defaultTimeout = 32 * time.Second
)

// Client talks to one daemon.
type Client struct {
	host, proto, addr, basePath, scheme string
	userAgent                           *string
	headers                             map[string]string
	tlsConfig                           *tls.Config

	hc *http.Client
	tr *http.Transport

	negMu      sync.Mutex // held across a negotiating ping
	mu         sync.Mutex
	version    string
	negotiated bool
}

// Opt configures a Client.
type Opt func(*Client) error

// WithHost sets the daemon address: unix:///path, tcp://host:port[/base].
func WithHost(host string) Opt {
	return func(c *Client) error {
		u, err := ParseHostURL(host)
		if err != nil {
			return err
		}
		c.host, c.proto, c.addr, c.basePath = host, u.Scheme, u.Host, u.Path
		return nil
	}
}

// WithAPIVersionFromEnv pins the API version from DOCKER_API_VERSION when
// set.
func WithAPIVersionFromEnv() Opt {
	return func(c *Client) error {
		v := strings.TrimSpace(os.Getenv(EnvOverrideAPIVersion))
		if val := strings.TrimPrefix(v, "v"); val != "" {
			ver, err := parseAPIVersion(val)
			if err != nil {
				return fmt.Errorf("invalid API version (%s): %w", v, err)
			}
			c.setVersion(ver)
		}
		return nil
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Opt {
	return func(c *Client) error {
		c.userAgent = &ua
		return nil
	}
}

// WithTLSConfig makes the client speak TLS with cfg (scheme https).
func WithTLSConfig(cfg *tls.Config) Opt {
	return func(c *Client) error {
		c.tlsConfig = cfg
		return nil
	}
}

// WithHTTPHeaders adds headers to every request.
func WithHTTPHeaders(headers map[string]string) Opt {
	return func(c *Client) error {
		c.headers = make(map[string]string, len(headers))
		for k, v := range headers {
			k = http.CanonicalHeaderKey(k)
			if _, dup := c.headers[k]; dup {
				return cerrdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("duplicate custom HTTP header (%s)", k))
			}
			c.headers[k] = v
		}
		return nil
	}
}

// New returns a client configured by ops; the default host is docker's
// socket.
func New(ops ...Opt) (*Client, error) {
	c := &Client{}
	if err := WithHost("unix:///var/run/docker.sock")(c); err != nil {
		return nil, err
	}
	for _, op := range ops {
		if op == nil {
			continue
		}
		if err := op(c); err != nil {
			return nil, err
		}
	}
	c.scheme = "http"
	if c.tlsConfig != nil {
		c.scheme = "https"
	}
	c.tr = &http.Transport{MaxIdleConns: 6, IdleConnTimeout: 30 * time.Second, TLSClientConfig: c.tlsConfig}
	switch c.proto {
	case "unix":
		addr := c.addr
		c.tr.DisableCompression = true
		c.tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", addr)
		}
	case "tcp":
		c.tr.Proxy = http.ProxyFromEnvironment
		c.tr.DialContext = (&net.Dialer{Timeout: defaultTimeout}).DialContext
	default:
		return nil, fmt.Errorf("protocol not available: %s", c.proto)
	}
	var rt http.RoundTripper = c.tr
	if c.proto == "unix" {
		rt = &connTransport{dial: func(ctx context.Context) (net.Conn, error) {
			return c.tr.DialContext(ctx, "unix", c.addr)
		}, next: c.tr}
	}
	c.hc = &http.Client{Transport: rt, CheckRedirect: checkRedirect}
	return c, nil
}

// checkRedirect refuses the redirects the API never sends on purpose (a
// GET redirected would silently drop the method of a POST).
func checkRedirect(_ *http.Request, via []*http.Request) error {
	if via[0].Method == http.MethodGet {
		return http.ErrUseLastResponse
	}
	return fmt.Errorf("unexpected redirect in response")
}

// ParseHostURL splits a daemon address into scheme, address and (for tcp)
// base path.
func ParseHostURL(host string) (*url.URL, error) {
	proto, addr, ok := strings.Cut(host, "://")
	if !ok || addr == "" {
		return nil, fmt.Errorf("unable to parse docker host `%s`", host)
	}
	var basePath string
	if proto == "tcp" {
		parsed, err := url.Parse("tcp://" + addr)
		if err != nil {
			return nil, err
		}
		addr, basePath = parsed.Host, parsed.Path
	}
	return &url.URL{Scheme: proto, Host: addr, Path: basePath}, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	if ci, ok := c.hc.Transport.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
	return nil
}

// DaemonHost is the daemon address the client was made for.
func (c *Client) DaemonHost() string { return c.host }

// ClientVersion is the API version in use (the negotiated one once a
// request went out).
func (c *Client) ClientVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version == "" {
		return MaxAPIVersion
	}
	return c.version
}

func (c *Client) setVersion(v string) {
	c.version, c.negotiated = v, true
}

// Dialer returns a function that opens a raw connection to the daemon.
func (c *Client) Dialer() func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		if c.tlsConfig != nil {
			d := tls.Dialer{NetDialer: &net.Dialer{Timeout: defaultTimeout}, Config: c.tlsConfig}
			return d.DialContext(ctx, c.proto, c.addr)
		}
		return c.tr.DialContext(ctx, c.proto, c.addr)
	}
}
