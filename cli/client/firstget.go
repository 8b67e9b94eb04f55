package client

import (
	"context"
	"net/http"
	"net/url"
	"path"
)

// firstGet sends a GET made before the API version is negotiated without
// a version in its path, saving the /_ping round trip: the daemon serves
// an unversioned request at its own API version, which is the version
// negotiation would have chosen whenever that is within the client's
// range [MinAPIVersion, MaxAPIVersion]. The reply's Api-Version header
// then settles the negotiation. Otherwise (a daemon outside that range,
// or no header) the reply is dropped and ok is false: the caller
// negotiates with a ping and sends the request again, versioned; a GET
// changes nothing on the daemon, so sending it twice is harmless.
func (c *Client) firstGet(ctx context.Context, p string, q url.Values, headers http.Header) (resp *http.Response, ok bool, err error) {
	u := (&url.URL{Path: path.Join(c.basePath, p), RawQuery: q.Encode()}).String()
	req, err := c.buildRequest(ctx, http.MethodGet, u, headers, http.NoBody)
	if err != nil {
		return nil, true, err
	}
	resp, err = c.doRequest(req)
	if err != nil {
		return nil, true, err
	}
	if !c.adoptVersion(resp.Header.Get("Api-Version")) {
		ensureReaderClosed(resp)
		return nil, false, nil
	}
	return resp, true, nil
}

// adoptVersion negotiates to the daemon's version v if it is within the
// client's range, as a ping saying v would.
func (c *Client) adoptVersion(v string) bool {
	v, err := parseAPIVersion(v)
	if err != nil || versionLess(v, MinAPIVersion) || versionLess(MaxAPIVersion, v) {
		return false
	}
	c.negMu.Lock()
	defer c.negMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.negotiated {
		c.setVersion(v)
	}
	return true
}
