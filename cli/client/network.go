package client

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/moby/moby/api/types/network"
)

type (
	NetworkConnectOptions struct {
		Container      string
		EndpointConfig *network.EndpointSettings
	}
	NetworkConnectResult struct{}
	NetworkCreateOptions struct {
		Driver, Scope                             string
		EnableIPv4, EnableIPv6                    *bool
		IPAM                                      *network.IPAM
		Internal, Attachable, Ingress, ConfigOnly bool
		ConfigFrom                                string
		Options, Labels                           map[string]string
	}
	NetworkCreateResult struct {
		ID      string
		Warning []string
	}
	NetworkDisconnectOptions struct {
		Container string
		Force     bool
	}
	NetworkDisconnectResult struct{}
	NetworkInspectOptions   struct {
		Scope   string
		Verbose bool
	}
	NetworkInspectResult struct {
		Network network.Inspect
		Raw     json.RawMessage
	}
	NetworkListOptions   struct{ Filters Filters }
	NetworkListResult    struct{ Items []network.Summary }
	NetworkPruneOptions  struct{ Filters Filters }
	NetworkPruneResult   struct{ Report network.PruneReport }
	NetworkRemoveOptions struct{}
	NetworkRemoveResult  struct{}
)

// NetworkConnect connects a container to a network.
func (c *Client) NetworkConnect(ctx context.Context, id string, o NetworkConnectOptions) (NetworkConnectResult, error) {
	id, ctr, err := trimIDs("network", id, o.Container)
	if err != nil {
		return NetworkConnectResult{}, err
	}
	return NetworkConnectResult{}, c.post(ctx, "/networks/"+id+"/connect", nil, network.ConnectRequest{Container: ctr, EndpointConfig: o.EndpointConfig}, nil)
}

// NetworkDisconnect disconnects a container from a network.
func (c *Client) NetworkDisconnect(ctx context.Context, id string, o NetworkDisconnectOptions) (NetworkDisconnectResult, error) {
	id, ctr, err := trimIDs("network", id, o.Container)
	if err != nil {
		return NetworkDisconnectResult{}, err
	}
	return NetworkDisconnectResult{}, c.post(ctx, "/networks/"+id+"/disconnect", nil, network.DisconnectRequest{Container: ctr, Force: o.Force}, nil)
}

// trimIDs trims an object's ID and a container's.
func trimIDs(objType, id, ctr string) (string, string, error) {
	id, err := trimID(objType, id)
	if err != nil {
		return "", "", err
	}
	ctr, err = trimID("container", ctr)
	return id, ctr, err
}

// NetworkCreate creates a network.
func (c *Client) NetworkCreate(ctx context.Context, name string, o NetworkCreateOptions) (NetworkCreateResult, error) {
	req := network.CreateRequest{
		Name: name, Driver: o.Driver, Scope: o.Scope, EnableIPv4: o.EnableIPv4, EnableIPv6: o.EnableIPv6,
		IPAM: o.IPAM, Internal: o.Internal, Attachable: o.Attachable, Ingress: o.Ingress,
		ConfigOnly: o.ConfigOnly, Options: o.Options, Labels: o.Labels,
	}
	if o.ConfigFrom != "" {
		req.ConfigFrom = &network.ConfigReference{Network: o.ConfigFrom}
	}
	var r network.CreateResponse
	err := c.post(ctx, "/networks/create", nil, req, &r)
	var warnings []string
	if r.Warning != "" {
		warnings = []string{r.Warning}
	}
	return NetworkCreateResult{ID: r.ID, Warning: warnings}, err
}

// NetworkInspect returns a network, decoded and raw.
func (c *Client) NetworkInspect(ctx context.Context, id string, o NetworkInspectOptions) (NetworkInspectResult, error) {
	var out NetworkInspectResult
	id, err := trimID("network", id)
	if err != nil {
		return out, err
	}
	q := url.Values{}
	if o.Verbose {
		q.Set("verbose", "true")
	}
	if o.Scope != "" {
		q.Set("scope", o.Scope)
	}
	out.Raw, err = c.getRaw(ctx, "/networks/"+id, q, &out.Network)
	return out, err
}

// NetworkList lists networks.
func (c *Client) NetworkList(ctx context.Context, o NetworkListOptions) (NetworkListResult, error) {
	var r NetworkListResult
	err := c.get(ctx, "/networks", filterQuery(o.Filters), &r.Items)
	return r, err
}

// NetworkPrune removes unused networks.
func (c *Client) NetworkPrune(ctx context.Context, o NetworkPruneOptions) (NetworkPruneResult, error) {
	r, err := prune[network.PruneReport](ctx, c, "/networks/prune", filterQuery(o.Filters), "Error retrieving network prune report")
	return NetworkPruneResult{Report: r}, err
}

// NetworkRemove removes a network.
func (c *Client) NetworkRemove(ctx context.Context, id string, _ NetworkRemoveOptions) (NetworkRemoveResult, error) {
	id, err := trimID("network", id)
	if err != nil {
		return NetworkRemoveResult{}, err
	}
	return NetworkRemoveResult{}, c.delete(ctx, "/networks/"+id, nil)
}
