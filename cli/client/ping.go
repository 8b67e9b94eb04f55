package client

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client/pkg/versions"
)

// PingOptions says whether a ping negotiates the API version.
type PingOptions struct {
	NegotiateAPIVersion bool
	ForceNegotiate      bool
}

// SwarmStatus is the Swarm header of a ping.
type SwarmStatus struct {
	NodeState        swarm.LocalNodeState
	ControlAvailable bool
}

// PingResult is what /_ping's headers say.
type PingResult struct {
	APIVersion     string
	OSType         string
	Experimental   bool
	BuilderVersion build.BuilderVersion
	SwarmStatus    *SwarmStatus
}

// Ping asks the daemon for its API version (HEAD /_ping, GET when HEAD
// fails), negotiating the client's version when asked.
func (c *Client) Ping(ctx context.Context, o PingOptions) (PingResult, error) {
	if !o.NegotiateAPIVersion {
		return c.ping(ctx)
	}
	c.negMu.Lock()
	defer c.negMu.Unlock()
	if c.isNegotiated() && !o.ForceNegotiate {
		return c.ping(ctx)
	}
	p, err := c.ping(ctx)
	if err != nil || c.isNegotiated() && !o.ForceNegotiate {
		return p, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.APIVersion == "" {
		c.setVersion(MaxAPIVersion)
		return p, nil
	}
	return p, c.negotiate(p.APIVersion)
}

func (c *Client) isNegotiated() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.negotiated
}

// checkVersion negotiates the API version once, before the first request.
func (c *Client) checkVersion(ctx context.Context) error {
	if c.isNegotiated() {
		return nil
	}
	_, err := c.Ping(ctx, PingOptions{NegotiateAPIVersion: true})
	return err
}

func (c *Client) ping(ctx context.Context) (PingResult, error) {
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		req, err := c.buildRequest(ctx, method, path.Join(c.basePath, "/_ping"), nil, nil)
		if err != nil {
			return PingResult{}, err
		}
		resp, err := c.doRequest(req)
		if method == http.MethodHead && (err != nil || resp.StatusCode != http.StatusOK) {
			ensureReaderClosed(resp)
			continue
		}
		if err != nil {
			return PingResult{}, err
		}
		defer ensureReaderClosed(resp)
		return newPingResult(resp), checkResponseErr(resp)
	}
	panic("unreachable")
}

func newPingResult(resp *http.Response) PingResult {
	var ss *SwarmStatus
	if si := resp.Header.Get("Swarm"); si != "" {
		state, role, _ := strings.Cut(si, "/")
		ss = &SwarmStatus{NodeState: swarm.LocalNodeState(state), ControlAvailable: role == "manager"}
	}
	return PingResult{
		APIVersion:     resp.Header.Get("Api-Version"),
		OSType:         resp.Header.Get("Ostype"),
		Experimental:   resp.Header.Get("Docker-Experimental") == "true",
		BuilderVersion: build.BuilderVersion(resp.Header.Get("Builder-Version")),
		SwarmStatus:    ss,
	}
}

// negotiate lowers the client's version to the daemon's (c.mu held).
func (c *Client) negotiate(daemon string) error {
	daemon, err := parseAPIVersion(daemon)
	if err != nil {
		return err
	}
	if versionLess(daemon, MinAPIVersion) {
		return cerrdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("API version %s is not supported by this client: the minimum supported API version is %s", daemon, MinAPIVersion))
	}
	v := c.version
	if v == "" {
		v = MaxAPIVersion
	}
	if versionLess(daemon, v) {
		v = daemon
	}
	c.setVersion(v)
	return nil
}

// parseAPIVersion normalises "<major>.<minor>".
func parseAPIVersion(v string) (string, error) {
	v = strings.TrimSpace(v)
	if strings.TrimPrefix(v, "v") == "" {
		return "", cerrdefs.ErrInvalidArgument.WithMessage("value is empty")
	}
	if strings.HasPrefix(v, "v") {
		return "", cerrdefs.ErrInvalidArgument.WithMessage("must be formatted <major>.<minor>")
	}
	maj, min, ok := strings.Cut(v, ".")
	if !ok {
		return "", cerrdefs.ErrInvalidArgument.WithMessage("must be formatted <major>.<minor>")
	}
	a, err := strconv.Atoi(maj)
	if err != nil || a < 0 {
		return "", cerrdefs.ErrInvalidArgument.WithMessage("invalid major version: must be formatted <major>.<minor>")
	}
	b, err := strconv.Atoi(min)
	if err != nil || b < 0 {
		return "", cerrdefs.ErrInvalidArgument.WithMessage("invalid minor version: must be formatted <major>.<minor>")
	}
	return fmt.Sprintf("%d.%d", a, b), nil
}

// versionLess compares dotted version numbers numerically.
func versionLess(a, b string) bool { return versions.LessThan(a, b) }
