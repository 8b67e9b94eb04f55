package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/volume"
)

type (
	VolumeCreateOptions struct {
		Name, Driver       string
		DriverOpts, Labels map[string]string
	}
	VolumeCreateResult   struct{ Volume volume.Volume }
	VolumeInspectOptions struct{}
	VolumeInspectResult  struct {
		Volume volume.Volume
		Raw    json.RawMessage
	}
	VolumeListOptions struct{ Filters Filters }
	VolumeListResult  struct {
		Items    []volume.Volume
		Warnings []string
	}
	VolumePruneOptions struct {
		All     bool
		Filters Filters
	}
	VolumePruneResult   struct{ Report volume.PruneReport }
	VolumeRemoveOptions struct{ Force bool }
	VolumeRemoveResult  struct{}
)

// APIClient is what commands are handed: the one client implementation.
type APIClient = *Client

// VolumeCreate creates a volume.
func (c *Client) VolumeCreate(ctx context.Context, o VolumeCreateOptions) (VolumeCreateResult, error) {
	var v volume.Volume
	err := c.post(ctx, "/volumes/create", nil, volume.CreateRequest{Name: o.Name, Driver: o.Driver, DriverOpts: o.DriverOpts, Labels: o.Labels}, &v)
	return VolumeCreateResult{Volume: v}, err
}

// VolumeInspect returns a volume, decoded and raw.
func (c *Client) VolumeInspect(ctx context.Context, id string, _ VolumeInspectOptions) (VolumeInspectResult, error) {
	var out VolumeInspectResult
	id, err := trimID("volume", id)
	if err == nil {
		out.Raw, err = c.getRaw(ctx, "/volumes/"+id, nil, &out.Volume)
	}
	return out, err
}

// VolumeList lists volumes.
func (c *Client) VolumeList(ctx context.Context, o VolumeListOptions) (VolumeListResult, error) {
	var r volume.ListResponse
	err := c.get(ctx, "/volumes", filterQuery(o.Filters), &r)
	return VolumeListResult{Items: r.Volumes, Warnings: r.Warnings}, err
}

// VolumePrune removes unused volumes (anonymous ones unless All).
func (c *Client) VolumePrune(ctx context.Context, o VolumePruneOptions) (VolumePruneResult, error) {
	if o.All {
		if _, ok := o.Filters["all"]; ok {
			return VolumePruneResult{}, cerrdefs.ErrInvalidArgument.WithMessage(`conflicting options: cannot specify both "all" and "all" filter`)
		}
		if o.Filters == nil {
			o.Filters = Filters{}
		}
		o.Filters.Add("all", "true")
	}
	r, err := prune[volume.PruneReport](ctx, c, "/volumes/prune", filterQuery(o.Filters), "error retrieving volume prune report")
	return VolumePruneResult{Report: r}, err
}

// VolumeRemove removes a volume.
func (c *Client) VolumeRemove(ctx context.Context, id string, o VolumeRemoveOptions) (VolumeRemoveResult, error) {
	id, err := trimID("volume", id)
	if err != nil {
		return VolumeRemoveResult{}, err
	}
	q := url.Values{}
	if o.Force {
		q.Set("force", "1")
	}
	return VolumeRemoveResult{}, c.delete(ctx, "/volumes/"+id, q)
}

// filterQuery is a query holding only f.
func filterQuery(f Filters) url.Values {
	q := url.Values{}
	f.updateURLValues(q)
	return q
}

// prune POSTs to a prune endpoint and decodes its report; a report that
// does not decode is worded "<what>: <error>", as docker's client does.
func prune[R any](ctx context.Context, c *Client, p string, q url.Values, what string) (R, error) {
	var r R
	if err := c.post(ctx, p, q, nil, &r); err != nil {
		return r, decodeErr(what, err)
	}
	return r, nil
}

// decodeErr words a prune report's decoding failure as docker does
// ("<what>: <error>"); daemon errors pass through.
func decodeErr(what string, err error) error {
	return wrapDecode(what+": %v", err)
}

// getRaw GETs p and decodes the body into out, returning it raw too.
func (c *Client) getRaw(ctx context.Context, p string, q url.Values, out any) (json.RawMessage, error) {
	resp, err := c.send(ctx, http.MethodGet, p, q, nil, nil)
	if err != nil {
		return nil, err
	}
	defer ensureReaderClosed(resp)
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return raw, json.Unmarshal(raw, out)
}
