package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"reflect"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errhttp"
	"github.com/moby/moby/api/types/common"
)

// apiPath is p under the base path and the API version (negotiated
// first unless pinned), with query q.
func (c *Client) apiPath(ctx context.Context, p string, q url.Values) string {
	_ = c.checkVersion(ctx)
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	return c.pathAt(v, p, q)
}

// pathAt is p under the base path and API version v (none if empty),
// with query q.
func (c *Client) pathAt(v, p string, q url.Values) string {
	if v != "" {
		p = path.Join(c.basePath, "/v"+strings.TrimPrefix(v, "v"), p)
	} else {
		p = path.Join(c.basePath, p)
	}
	return (&url.URL{Path: p, RawQuery: q.Encode()}).String()
}

func (c *Client) buildRequest(ctx context.Context, method, p string, headers http.Header, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, p, body)
	if err != nil {
		return nil, err
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	for k, v := range headers {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	switch {
	case c.userAgent == nil:
		if req.Header.Get("User-Agent") == "" {
			req.Header.Set("User-Agent", "berth-client")
		}
	case *c.userAgent == "":
		req.Header.Del("User-Agent")
	default:
		req.Header.Set("User-Agent", *c.userAgent)
	}
	req.URL.Scheme, req.URL.Host = c.scheme, c.addr
	if c.proto == "unix" {
		req.Host = DummyHost
	}
	return req, nil
}

// send makes one request and turns a daemon error response into an error
// (the response is then closed).
func (c *Client) send(ctx context.Context, method, p string, q url.Values, headers http.Header, body io.Reader) (resp *http.Response, err error) {
	sent := false
	if !c.isNegotiated() {
		switch {
		case method == http.MethodGet && (body == nil || body == http.NoBody):
			resp, sent, err = c.firstGet(ctx, p, q, headers)
		case changesState(method):
			resp, body, sent, err = c.firstChange(ctx, method, p, q, headers, body)
		}
	}
	if !sent {
		var req *http.Request
		req, err = c.buildRequest(ctx, method, c.apiPath(ctx, p, q), headers, body)
		if err != nil {
			return nil, err
		}
		resp, err = c.doRequest(req)
	}
	if err != nil {
		return nil, err
	}
	if err := checkResponseErr(resp); err != nil {
		ensureReaderClosed(resp)
		return nil, err
	}
	return resp, nil
}

// sendJSON sends in (nil: no body) as JSON.
func (c *Client) sendJSON(ctx context.Context, method, p string, q url.Values, headers http.Header, in any) (*http.Response, error) {
	body, err := jsonEncode(in)
	if err != nil {
		return nil, err
	}
	if body != http.NoBody {
		h := http.Header{}
		if headers != nil {
			h = headers.Clone()
		}
		h.Set("Content-Type", "application/json")
		headers = h
	}
	return c.send(ctx, method, p, q, headers, body)
}

// call sends in as JSON and decodes the response body into out (when
// not nil); the response is closed.
func (c *Client) call(ctx context.Context, method, p string, q url.Values, in, out any) error {
	resp, err := c.sendJSON(ctx, method, p, q, nil, in)
	if err != nil {
		return err
	}
	defer ensureReaderClosed(resp)
	if out == nil {
		return nil
	}
	return decodeBody(resp, out)
}

const (
	// bigBody is the size from which a response is read into one buffer
	// of its Content-Length: `ps` of 200 containers is about 160 kB.
	bigBody = 32 << 10
	// maxBigBody is the largest body read that way; a larger one is
	// decoded as it arrives.
	maxBigBody = 8 << 20
)

// decodeBody decodes the JSON response into out. A large body of known
// size is read whole into a buffer of that size (not grown by doubling
// as a json.Decoder's is).
func decodeBody(resp *http.Response, out any) error {
	if !isBig(resp) {
		body := io.Reader(resp.Body)
		if fastReply(out) {
			rest, ok := readReply(body, out)
			if ok {
				return nil
			}
			body = rest
		}
		return json.NewDecoder(body).Decode(out)
	}
	buf, err := readBig(resp)
	if err != nil {
		return err
	}
	return json.Unmarshal(buf, out)
}

// isBig reports whether resp has a large body of known size.
func isBig(resp *http.Response) bool {
	return resp.ContentLength >= bigBody && resp.ContentLength <= maxBigBody
}

// readBig reads a body isBig into one buffer of its size.
func readBig(resp *http.Response) ([]byte, error) {
	buf := make([]byte, resp.ContentLength)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func (c *Client) get(ctx context.Context, p string, q url.Values, out any) error {
	return c.call(ctx, http.MethodGet, p, q, nil, out)
}

func (c *Client) post(ctx context.Context, p string, q url.Values, in, out any) error {
	return c.call(ctx, http.MethodPost, p, q, in, out)
}

func (c *Client) delete(ctx context.Context, p string, q url.Values) error {
	return c.call(ctx, http.MethodDelete, p, q, nil, nil)
}

func jsonEncode(data any) (io.Reader, error) {
	switch x := data.(type) {
	case nil:
		return http.NoBody, nil
	case io.Reader:
		return x, nil
	}
	if v := reflect.ValueOf(data); v.Kind() == reflect.Pointer && v.IsNil() {
		return http.NoBody, nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

func ensureReaderClosed(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	if resp.ContentLength != 0 && (resp.Request == nil || resp.Request.Method != http.MethodHead) {
		_, _ = io.CopyN(io.Discard, resp.Body, 512)
	}
	_ = resp.Body.Close()
}

// doRequest sends req, rewording connection failures as docker's client
// does.
func (c *Client) doRequest(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err == nil {
		return resp, nil
	}
	msg := err.Error()
	if c.scheme != "https" && strings.Contains(msg, "malformed HTTP response") {
		return nil, errConnectionFailed{fmt.Errorf("%w.\n* Are you trying to connect to a TLS-enabled daemon without TLS?", err)}
	}
	if c.scheme == "https" && (strings.Contains(msg, "handshake failure") || strings.Contains(msg, "bad certificate")) {
		return nil, errConnectionFailed{fmt.Errorf("the server probably has client authentication (--tlsverify) enabled; check your TLS client certification settings: %w", err)}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	if errors.Is(err, os.ErrPermission) {
		return nil, errConnectionFailed{fmt.Errorf("permission denied while trying to connect to the docker API at %v", c.host)}
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, errConnectionFailed{fmt.Errorf("failed to connect to the docker API at %v; check if the path is correct and if the daemon is running: %w", c.host, errors.Unwrap(err))}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return nil, errConnectionFailed{fmt.Errorf("failed to connect to the docker API at %v: %w", c.host, dnsErr)}
	}
	var nErr net.Error
	if errors.As(err, &nErr) && (nErr.Timeout() || strings.Contains(nErr.Error(), "connection refused") || strings.Contains(nErr.Error(), "dial unix")) {
		return nil, errConnectionFailed{fmt.Errorf("Cannot connect to the Docker daemon at %s. Is the docker daemon running?", c.host)}
	}
	return nil, errConnectionFailed{fmt.Errorf("error during connect: %w", err)}
}

// checkResponseErr turns a status >= 400 into "Error response from
// daemon: <message>", classified by status for containerd/errdefs.
func checkResponseErr(resp *http.Response) error {
	if resp.StatusCode >= http.StatusOK && resp.StatusCode < http.StatusBadRequest {
		return nil
	}
	err := responseErr(resp)
	if base := errhttp.ToNative(resp.StatusCode); base != nil {
		return &httpError{err: err, errdef: base}
	}
	if resp.StatusCode < http.StatusInternalServerError {
		return &httpError{err: err, errdef: cerrdefs.ErrInvalidArgument}
	}
	if resp.StatusCode < 600 {
		return &httpError{err: err, errdef: cerrdefs.ErrInternal}
	}
	return &httpError{err: err, errdef: cerrdefs.ErrUnknown}
}

func responseErr(resp *http.Response) error {
	var reqURL, method string
	if resp.Request != nil {
		reqURL, method = resp.Request.URL.String(), resp.Request.Method
	}
	status := resp.Status
	if status == "" {
		status = http.StatusText(resp.StatusCode)
	}
	const bodyMax = 1 << 20
	var body []byte
	if resp.Body != nil && method != http.MethodHead {
		lr := &io.LimitedReader{R: resp.Body, N: bodyMax}
		var err error
		if body, err = io.ReadAll(lr); err != nil {
			return err
		}
		if lr.N == 0 {
			return fmt.Errorf("request returned %s with a message (> %d bytes) for API route and version %s, check if the server supports the requested API version", status, bodyMax, reqURL)
		}
	}
	if len(body) == 0 {
		return fmt.Errorf("request returned %s for API route and version %s, check if the server supports the requested API version", status, reqURL)
	}
	var daemonErr error
	if resp.Header.Get("Content-Type") == "application/json" {
		var er common.ErrorResponse
		if err := json.Unmarshal(body, &er); err != nil {
			return fmt.Errorf("error reading JSON: %w", err)
		}
		if er.Message == "" {
			daemonErr = fmt.Errorf("API returned a %d (%s) but provided no error-message", resp.StatusCode, http.StatusText(resp.StatusCode))
		} else {
			daemonErr = errors.New(strings.TrimSpace(er.Message))
		}
	} else {
		daemonErr = errors.New(strings.TrimSpace(string(body)))
	}
	return fmt.Errorf("Error response from daemon: %w", daemonErr)
}

type errConnectionFailed struct{ error }

func (e errConnectionFailed) Unwrap() error { return e.error }

// IsErrConnectionFailed reports whether err is a failure to reach the
// daemon.
func IsErrConnectionFailed(err error) bool {
	return errors.As(err, &errConnectionFailed{})
}

// httpError is a daemon error classified by its HTTP status.
type httpError struct {
	err, errdef error
}

func (e *httpError) Error() string        { return e.err.Error() }
func (e *httpError) Unwrap() error        { return e.err }
func (e *httpError) Is(target error) bool { return errors.Is(e.errdef, target) }

type emptyIDError string

func (e emptyIDError) InvalidParameter() {}
func (e emptyIDError) Error() string {
	return "invalid " + string(e) + " name or ID: value is empty"
}

// trimID trims an object ID or name; an empty one is an error.
func trimID(objType, id string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", emptyIDError(objType)
	}
	return id, nil
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }

type objectNotFoundError struct{ object, id string }

func (e objectNotFoundError) NotFound() {}
func (e objectNotFoundError) Error() string {
	return fmt.Sprintf("Error: No such %s: %s", e.object, e.id)
}

func decodeJSON(resp *http.Response, out any) error {
	return json.NewDecoder(resp.Body).Decode(out)
}
