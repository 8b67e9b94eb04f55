package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berth-dev/berth/internal/imageref"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

type (
	ImagePullOptions struct {
		All          bool
		RegistryAuth string
		Platforms    []ocispec.Platform
	}
	ImagePushOptions struct {
		All          bool
		RegistryAuth string
		Platform     *ocispec.Platform
	}
	ImageTagOptions   struct{ Source, Target string }
	ImageTagResult    struct{}
	ImageImportSource struct {
		Source     io.Reader
		SourceName string
	}
	ImageImportOptions struct {
		Tag, Message string
		Changes      []string
		Platform     ocispec.Platform
	}
	ImageRemoveOptions struct{ Force, PruneChildren bool }
	ImageRemoveResult  struct{ Items []image.DeleteResponse }
	ImageListOptions   struct {
		All     bool
		Filters Filters
	}
	ImageListResult    struct{ Items []image.Summary }
	ImageHistoryResult struct{ Items []image.HistoryResponseItem }
	ImageInspectResult struct{ image.InspectResponse }
	ImagePruneOptions  struct{ Filters Filters }
	ImagePruneResult   struct{ Report image.PruneReport }

	BuildCachePruneOptions struct {
		All           bool
		ReservedSpace int64
		Filters       Filters
	}
	BuildCachePruneResult struct{ Report build.CachePruneReport }
)

// ImagePull pulls an image (all its tags with All) and returns the
// daemon's JSON progress stream.
func (c *Client) ImagePull(ctx context.Context, ref string, o ImagePullOptions) (io.ReadCloser, error) {
	named, err := imageref.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("fromImage", named.Name())
	if !o.All {
		tag := named.Digest()
		if tag == "" {
			tag = named.TagNameOnly().Tag()
		}
		q.Set("tag", tag)
	}
	if len(o.Platforms) > 1 {
		return nil, cerrdefs.ErrInvalidArgument.WithMessage("specifying multiple platforms is not yet supported")
	}
	if len(o.Platforms) == 1 {
		q.Set("platform", formatPlatform(o.Platforms[0]))
	}
	return c.stream(ctx, http.MethodPost, "/images/create", q, authHeader(o.RegistryAuth), nil)
}

// ImagePush pushes an image (all its tags with All) and returns the
// daemon's JSON progress stream.
func (c *Client) ImagePush(ctx context.Context, ref string, o ImagePushOptions) (io.ReadCloser, error) {
	named, err := imageref.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, err
	}
	if named.Digest() != "" {
		return nil, errors.New("cannot push a digest reference")
	}
	q := url.Values{}
	if !o.All {
		q.Set("tag", named.TagNameOnly().Tag())
	}
	if o.Platform != nil {
		if err := c.requiresVersion(ctx, "1.46", "platform"); err != nil {
			return nil, err
		}
		b, err := json.Marshal(*o.Platform)
		if err != nil {
			return nil, fmt.Errorf("invalid platform: %v", err)
		}
		q.Set("platform", string(b))
	}
	return c.stream(ctx, http.MethodPost, "/images/"+named.Name()+"/push", q, authHeader(o.RegistryAuth), http.NoBody)
}

func authHeader(auth string) http.Header {
	h := http.Header{}
	if auth != "" {
		h.Set(registry.AuthHeader, auth)
	}
	return h
}

// stream sends a request and returns the response body.
func (c *Client) stream(ctx context.Context, method, p string, q url.Values, h http.Header, body io.Reader) (io.ReadCloser, error) {
	resp, err := c.send(ctx, method, p, q, h, body)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// requiresVersion fails when the negotiated API version is older than
// apiRequired.
func (c *Client) requiresVersion(ctx context.Context, apiRequired, feature string) error {
	if err := c.checkVersion(ctx); err != nil {
		return err
	}
	if v := c.ClientVersion(); versionLess(v, apiRequired) {
		return fmt.Errorf("%q requires API version %s, but the Docker daemon API version is %s", feature, apiRequired, v)
	}
	return nil
}

// ImageTag tags image Source as Target.
func (c *Client) ImageTag(ctx context.Context, o ImageTagOptions) (ImageTagResult, error) {
	if _, _, err := imageref.ParseAnyReference(o.Source); err != nil {
		return ImageTagResult{}, fmt.Errorf("error parsing reference: %q is not a valid repository/tag: %w", o.Source, err)
	}
	named, err := imageref.ParseNormalizedNamed(o.Target)
	if err != nil {
		return ImageTagResult{}, fmt.Errorf("error parsing reference: %q is not a valid repository/tag: %w", o.Target, err)
	}
	if named.Digest() != "" {
		return ImageTagResult{}, errors.New("refusing to create a tag with a digest reference")
	}
	named = named.TagNameOnly()
	q := url.Values{}
	q.Set("repo", named.Name())
	if named.Tag() != "" {
		q.Set("tag", named.Tag())
	}
	return ImageTagResult{}, c.post(ctx, "/images/"+o.Source+"/tag", q, nil, nil)
}

// ImageImport creates an image from a tarball (source) and returns the
// daemon's JSON progress stream.
func (c *Client) ImageImport(ctx context.Context, src ImageImportSource, ref string, o ImageImportOptions) (io.ReadCloser, error) {
	if ref != "" {
		if _, err := imageref.ParseNormalizedNamed(ref); err != nil {
			return nil, err
		}
	}
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("fromSrc", src.SourceName)
	set("repo", ref)
	set("tag", o.Tag)
	set("message", o.Message)
	if p := formatPlatform(o.Platform); p != "unknown" {
		q.Set("platform", p)
	}
	for _, ch := range o.Changes {
		q.Add("changes", ch)
	}
	return c.stream(ctx, http.MethodPost, "/images/create", q, nil, src.Source)
}

// ImageRemove removes an image (or untags it).
func (c *Client) ImageRemove(ctx context.Context, id string, o ImageRemoveOptions) (ImageRemoveResult, error) {
	q := url.Values{}
	if o.Force {
		q.Set("force", "1")
	}
	if !o.PruneChildren {
		q.Set("noprune", "1")
	}
	var r ImageRemoveResult
	err := c.call(ctx, http.MethodDelete, "/images/"+id, q, nil, &r.Items)
	return r, err
}

// ImageList lists images.
func (c *Client) ImageList(ctx context.Context, o ImageListOptions) (ImageListResult, error) {
	q := filterQuery(o.Filters)
	if o.All {
		q.Set("all", "1")
	}
	var r ImageListResult
	err := c.get(ctx, "/images/json", q, &r.Items)
	return r, err
}

// ImageHistory lists an image's layers' history.
func (c *Client) ImageHistory(ctx context.Context, id string) (ImageHistoryResult, error) {
	var r ImageHistoryResult
	err := c.get(ctx, "/images/"+id+"/history", nil, &r.Items)
	return r, err
}

// ImageInspectOption adjusts ImageInspect.
type ImageInspectOption func(*imageInspectOpts)

type imageInspectOpts struct{ raw *bytes.Buffer }

// ImageInspectWithRawResponse copies the raw JSON into raw.
func ImageInspectWithRawResponse(raw *bytes.Buffer) ImageInspectOption {
	return func(o *imageInspectOpts) { o.raw = raw }
}

// ImageInspect returns an image's details.
func (c *Client) ImageInspect(ctx context.Context, id string, opts ...ImageInspectOption) (ImageInspectResult, error) {
	if id == "" {
		return ImageInspectResult{}, objectNotFoundError{object: "image", id: id}
	}
	var o imageInspectOpts
	for _, f := range opts {
		f(&o)
	}
	var r ImageInspectResult
	raw, err := c.getRaw(ctx, "/images/"+id+"/json", nil, &r)
	if err == nil && o.raw != nil {
		o.raw.Write(raw)
	}
	return r, err
}

// ImageLoadOption adjusts ImageLoad.
type ImageLoadOption func(*loadSaveOpts)

// ImageSaveOption adjusts ImageSave.
type ImageSaveOption = ImageLoadOption

type loadSaveOpts struct {
	quiet     bool
	platforms []ocispec.Platform
}

// ImageLoadWithQuiet asks for no progress output.
func ImageLoadWithQuiet(quiet bool) ImageLoadOption {
	return func(o *loadSaveOpts) { o.quiet = quiet }
}

// ImageLoadWithPlatforms loads only these platforms.
func ImageLoadWithPlatforms(p ...ocispec.Platform) ImageLoadOption {
	return func(o *loadSaveOpts) { o.platforms = p }
}

// ImageSaveWithPlatforms saves only these platforms.
func ImageSaveWithPlatforms(p ...ocispec.Platform) ImageSaveOption {
	return ImageLoadWithPlatforms(p...)
}

// platformQuery adds the platforms as JSON (API 1.48 and later).
func (c *Client) platformQuery(ctx context.Context, q url.Values, ps []ocispec.Platform) error {
	if len(ps) == 0 {
		return nil
	}
	if err := c.requiresVersion(ctx, "1.48", "platform"); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range ps {
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("%w: invalid platform: %v", cerrdefs.ErrInvalidArgument, err)
		}
		if !seen[string(b)] {
			seen[string(b)] = true
			q.Add("platform", string(b))
		}
	}
	return nil
}

// ImageLoad loads a tarball of images and returns the daemon's output.
func (c *Client) ImageLoad(ctx context.Context, in io.Reader, opts ...ImageLoadOption) (io.ReadCloser, error) {
	var o loadSaveOpts
	for _, f := range opts {
		f(&o)
	}
	q := url.Values{}
	q.Set("quiet", "0")
	if o.quiet {
		q.Set("quiet", "1")
	}
	if err := c.platformQuery(ctx, q, o.platforms); err != nil {
		return nil, err
	}
	return c.stream(ctx, http.MethodPost, "/images/load", q, http.Header{"Content-Type": {"application/x-tar"}}, in)
}

// ImageSave returns a tarball of the images.
func (c *Client) ImageSave(ctx context.Context, ids []string, opts ...ImageSaveOption) (io.ReadCloser, error) {
	var o loadSaveOpts
	for _, f := range opts {
		f(&o)
	}
	q := url.Values{"names": ids}
	if err := c.platformQuery(ctx, q, o.platforms); err != nil {
		return nil, err
	}
	return c.stream(ctx, http.MethodGet, "/images/get", q, nil, nil)
}

// ImagePrune removes unused images.
func (c *Client) ImagePrune(ctx context.Context, o ImagePruneOptions) (ImagePruneResult, error) {
	r, err := prune[image.PruneReport](ctx, c, "/images/prune", filterQuery(o.Filters), "Error retrieving disk usage")
	return ImagePruneResult{Report: r}, err
}

// BuildCachePrune removes build cache.
func (c *Client) BuildCachePrune(ctx context.Context, o BuildCachePruneOptions) (BuildCachePruneResult, error) {
	q := filterQuery(o.Filters)
	if o.All {
		q.Set("all", "1")
	}
	if o.ReservedSpace != 0 {
		if err := c.checkVersion(ctx); err != nil {
			return BuildCachePruneResult{}, err
		}
		key := "reserved-space"
		if !versionLess("1.47", c.ClientVersion()) {
			key = "keep-storage"
		}
		q.Set(key, strconv.FormatInt(o.ReservedSpace, 10))
	}
	r, err := prune[build.CachePruneReport](ctx, c, "/build/prune", q, "error retrieving disk usage")
	return BuildCachePruneResult{Report: r}, err
}
