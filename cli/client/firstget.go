package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
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
	c.settleOnce(func() { c.setVersion(v) })
	return true
}

// settleOnce runs set, which settles the version, under both version
// locks unless a negotiation settled it already.
func (c *Client) settleOnce(set func()) {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.negotiated {
		set()
	}
}

// guessAPIVersion is the API version a first state-changing request is
// sent at: that of the berthd built with this client (api.APIVersion; a
// test keeps the two equal), so that against it the request is what
// negotiation would have sent. A daemon at a newer version serves the
// request at this one, as it serves any client pinned to it.
const guessAPIVersion = "1.47"

// changesState tells the methods firstChange may send.
func changesState(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// firstChange sends a POST, PUT or DELETE made before the API version is
// negotiated versioned at guessAPIVersion, saving the /_ping round trip.
// A daemon that does not serve that version refuses the request with a
// 400 ("client version 1.47 is too new" or "too old") before doing
// anything, so nothing is done twice: the reply is dropped, ok is false,
// and the caller negotiates with a ping and sends the request again with
// retry, a fresh copy of body. A body that cannot be sent twice (a
// stream) is not sent here (ok false, retry the untouched body). On any
// other reply its Api-Version header settles the negotiation.
func (c *Client) firstChange(ctx context.Context, method, p string, q url.Values, headers http.Header, body io.Reader) (resp *http.Response, retry io.Reader, ok bool, err error) {
	req, err := c.buildRequest(ctx, method, c.pathAt(guessAPIVersion, p, q), headers, body)
	if err != nil {
		return nil, body, true, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return nil, body, false, nil
	}
	if resp, err = c.doRequest(req); err != nil {
		return nil, body, true, err
	}
	if resp.StatusCode == http.StatusBadRequest {
		err := checkResponseErr(resp)
		ensureReaderClosed(resp)
		if !refusesVersion(err, guessAPIVersion) {
			return nil, body, true, err
		}
		if req.GetBody != nil {
			if body, err = req.GetBody(); err != nil {
				return nil, nil, true, err
			}
		}
		return nil, body, false, nil
	}
	c.settleVersion(resp.Header.Get("Api-Version"))
	return resp, body, true, nil
}

// refusesVersion tells a daemon's refusal of API version v, in Docker's
// wording (which berthd shares), from any other bad request.
func refusesVersion(err error, v string) bool {
	return err != nil && (strings.Contains(err.Error(), "client version "+v+" is too new") ||
		strings.Contains(err.Error(), "client version "+v+" is too old"))
}

// settleVersion negotiates as a ping whose Api-Version header said v
// would, unless the version is settled already or v is unusable (the
// next request then pings).
func (c *Client) settleVersion(v string) {
	d, err := parseAPIVersion(v)
	if err != nil || versionLess(d, MinAPIVersion) {
		return
	}
	c.settleOnce(func() { _ = c.negotiate(d) })
}
