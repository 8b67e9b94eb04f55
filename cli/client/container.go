package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

type (
	ContainerCreateOptions struct {
		Config           *container.Config
		HostConfig       *container.HostConfig
		NetworkingConfig *network.NetworkingConfig
		Platform         *ocispec.Platform
		Name, Image      string
	}
	ContainerCreateResult struct {
		ID       string
		Warnings []string
	}
	ContainerListOptions struct {
		Size, All bool
		Limit     int
		Filters   Filters
	}
	ContainerListResult     struct{ Items []container.Summary }
	ContainerInspectOptions struct{ Size bool }
	ContainerInspectResult  struct {
		Container container.InspectResponse
		Raw       json.RawMessage
	}
	ContainerStartOptions struct{}
	ContainerStartResult  struct{}
	ContainerStopOptions  struct {
		Signal  string
		Timeout *int
	}
	ContainerStopResult     struct{}
	ContainerRestartOptions = ContainerStopOptions
	ContainerRestartResult  struct{}
	ContainerKillOptions    struct{ Signal string }
	ContainerKillResult     struct{}
	ContainerRemoveOptions  struct{ RemoveVolumes, RemoveLinks, Force bool }
	ContainerRemoveResult   struct{}
	ContainerPauseOptions   struct{}
	ContainerPauseResult    struct{}
	ContainerUnpauseOptions struct{}
	ContainerUnpauseResult  struct{}
	ContainerRenameOptions  struct{ NewName string }
	ContainerRenameResult   struct{}
	ContainerResizeOptions  struct{ Height, Width uint }
	ContainerResizeResult   struct{}
	ContainerPruneOptions   struct{ Filters Filters }
	ContainerPruneResult    struct{ Report container.PruneReport }
	ContainerTopOptions     struct{ Arguments []string }
	ContainerTopResult      struct {
		Processes [][]string
		Titles    []string
	}
	ContainerDiffOptions   struct{}
	ContainerDiffResult    struct{ Changes []container.FilesystemChange }
	ContainerExportOptions struct{}
	ContainerUpdateOptions struct {
		Resources     *container.Resources
		RestartPolicy *container.RestartPolicy
	}
	ContainerUpdateResult  struct{ Warnings []string }
	ContainerCommitOptions struct {
		Reference, Comment, Author string
		Changes                    []string
		NoPause                    bool
		Config                     *container.Config
	}
	ContainerCommitResult struct{ ID string }
	ContainerStatsOptions struct{ Stream, IncludePreviousSample bool }
	ContainerStatsResult  struct{ Body io.ReadCloser }
)

// ContainerCreate creates a container.
func (c *Client) ContainerCreate(ctx context.Context, o ContainerCreateOptions) (ContainerCreateResult, error) {
	cfg := o.Config
	if cfg == nil {
		cfg = &container.Config{}
	}
	if o.Image != "" {
		if cfg.Image != "" {
			return ContainerCreateResult{}, cerrdefs.ErrInvalidArgument.WithMessage("either Image or config.Image should be set")
		}
		n := *cfg
		n.Image = o.Image
		cfg = &n
	}
	if cfg.Image == "" {
		return ContainerCreateResult{}, cerrdefs.ErrInvalidArgument.WithMessage("config.Image or Image is required")
	}
	q := url.Values{}
	if o.Platform != nil {
		if p := formatPlatform(*o.Platform); p != "unknown" {
			q.Set("platform", p)
		}
	}
	if o.Name != "" {
		q.Set("name", o.Name)
	}
	hc := o.HostConfig
	if hc != nil {
		n := *hc
		n.CapAdd, n.CapDrop = normalizeCaps(hc.CapAdd), normalizeCaps(hc.CapDrop)
		hc = &n
	}
	body, err := createBody(container.CreateRequest{Config: cfg, HostConfig: hc, NetworkingConfig: o.NetworkingConfig})
	if err != nil {
		return ContainerCreateResult{}, err
	}
	var r container.CreateResponse
	err = c.post(ctx, "/containers/create", q, bytes.NewReader(body), &r)
	return ContainerCreateResult{ID: r.ID, Warnings: r.Warnings}, err
}

// normalizeCaps upper-cases capabilities, adds CAP_ (except to ALL),
// sorts and de-duplicates them.
func normalizeCaps(caps []string) []string {
	out := slices.Clone(caps)
	for i, c := range out {
		c = strings.ToUpper(c)
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out[i] = c
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ContainerList lists containers.
func (c *Client) ContainerList(ctx context.Context, o ContainerListOptions) (ContainerListResult, error) {
	var r ContainerListResult
	err := c.get(ctx, "/containers/json", containerListQuery(o), &r.Items)
	return r, err
}

func containerListQuery(o ContainerListOptions) url.Values {
	q := filterQuery(o.Filters)
	if o.All {
		q.Set("all", "1")
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Size {
		q.Set("size", "1")
	}
	return q
}

// containerRow is the part of a list entry that ps's default table (and
// -q, -s) shows. Decoding only it skips most of each entry (network
// settings, mounts, labels): for 200 containers, two thirds of a fresh
// berth process's decoding time and a third of its heap.
type containerRow struct {
	ID         string `json:"Id"`
	Names      []string
	Image      string
	ImageID    string
	Command    string
	Created    int64
	Ports      []container.PortSummary
	SizeRw     int64
	SizeRootFs int64
	State      container.ContainerState
	Status     string
}

// ContainerListTable is ContainerList for ps's default table: each item
// has only the fields of containerRow set.
func (c *Client) ContainerListTable(ctx context.Context, o ContainerListOptions) (ContainerListResult, error) {
	rows, err := c.containerRows(ctx, containerListQuery(o))
	if err != nil {
		return ContainerListResult{}, err
	}
	items := make([]container.Summary, len(rows))
	for i, r := range rows {
		items[i] = container.Summary{
			ID: r.ID, Names: r.Names, Image: r.Image, ImageID: r.ImageID, Command: r.Command,
			Created: r.Created, Ports: r.Ports, SizeRw: r.SizeRw, SizeRootFs: r.SizeRootFs,
			State: r.State, Status: r.Status,
		}
	}
	return ContainerListResult{Items: items}, nil
}

// containerRows gets the list with query q and decodes its rows, with
// decodeRows when it handles the reply.
func (c *Client) containerRows(ctx context.Context, q url.Values) ([]containerRow, error) {
	resp, err := c.sendJSON(ctx, http.MethodGet, "/containers/json", q, nil, nil)
	if err != nil {
		return nil, err
	}
	defer ensureReaderClosed(resp)
	var body []byte
	if isBig(resp) {
		body, err = readBig(resp)
	} else {
		body, err = io.ReadAll(resp.Body)
	}
	if err != nil {
		return nil, err
	}
	if rows, ok := decodeRows(body); ok {
		return rows, nil
	}
	var rows []containerRow
	return rows, json.Unmarshal(body, &rows)
}

// ContainerInspect returns a container's details, decoded and raw.
func (c *Client) ContainerInspect(ctx context.Context, id string, o ContainerInspectOptions) (ContainerInspectResult, error) {
	var out ContainerInspectResult
	id, err := trimID("container", id)
	if err != nil {
		return out, err
	}
	q := url.Values{}
	if o.Size {
		q.Set("size", "1")
	}
	out.Raw, err = c.getRaw(ctx, "/containers/"+id+"/json", q, &out.Container)
	return out, err
}

// containerPost POSTs to /containers/{id}/{action} with query q and no
// body, discarding the response.
func (c *Client) containerPost(ctx context.Context, id, action string, q url.Values) error {
	id, err := trimID("container", id)
	if err != nil {
		return err
	}
	return c.post(ctx, "/containers/"+id+"/"+action, q, nil, nil)
}

// ContainerStart starts a container.
func (c *Client) ContainerStart(ctx context.Context, id string, _ ContainerStartOptions) (ContainerStartResult, error) {
	return ContainerStartResult{}, c.containerPost(ctx, id, "start", nil)
}

func stopQuery(o ContainerStopOptions) url.Values {
	q := url.Values{}
	if o.Timeout != nil {
		q.Set("t", strconv.Itoa(*o.Timeout))
	}
	if o.Signal != "" {
		q.Set("signal", o.Signal)
	}
	return q
}

// ContainerStop stops a container.
func (c *Client) ContainerStop(ctx context.Context, id string, o ContainerStopOptions) (ContainerStopResult, error) {
	return ContainerStopResult{}, c.containerPost(ctx, id, "stop", stopQuery(o))
}

// ContainerRestart restarts a container.
func (c *Client) ContainerRestart(ctx context.Context, id string, o ContainerRestartOptions) (ContainerRestartResult, error) {
	return ContainerRestartResult{}, c.containerPost(ctx, id, "restart", stopQuery(o))
}

// ContainerKill sends a signal to a container.
func (c *Client) ContainerKill(ctx context.Context, id string, o ContainerKillOptions) (ContainerKillResult, error) {
	q := url.Values{}
	if o.Signal != "" {
		q.Set("signal", o.Signal)
	}
	return ContainerKillResult{}, c.containerPost(ctx, id, "kill", q)
}

// ContainerPause pauses a container.
func (c *Client) ContainerPause(ctx context.Context, id string, _ ContainerPauseOptions) (ContainerPauseResult, error) {
	return ContainerPauseResult{}, c.containerPost(ctx, id, "pause", nil)
}

// ContainerUnpause resumes a paused container.
func (c *Client) ContainerUnpause(ctx context.Context, id string, _ ContainerUnpauseOptions) (ContainerUnpauseResult, error) {
	return ContainerUnpauseResult{}, c.containerPost(ctx, id, "unpause", nil)
}

// ContainerRename renames a container.
func (c *Client) ContainerRename(ctx context.Context, id string, o ContainerRenameOptions) (ContainerRenameResult, error) {
	q := url.Values{}
	q.Set("name", o.NewName)
	return ContainerRenameResult{}, c.containerPost(ctx, id, "rename", q)
}

// ContainerResize resizes a container's TTY.
func (c *Client) ContainerResize(ctx context.Context, id string, o ContainerResizeOptions) (ContainerResizeResult, error) {
	return ContainerResizeResult{}, c.containerPost(ctx, id, "resize", sizeQuery(o.Height, o.Width))
}

func sizeQuery(h, w uint) url.Values {
	q := url.Values{}
	q.Set("h", strconv.FormatUint(uint64(h), 10))
	q.Set("w", strconv.FormatUint(uint64(w), 10))
	return q
}

// ContainerRemove removes a container.
func (c *Client) ContainerRemove(ctx context.Context, id string, o ContainerRemoveOptions) (ContainerRemoveResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return ContainerRemoveResult{}, err
	}
	q := url.Values{}
	for k, on := range map[string]bool{"v": o.RemoveVolumes, "link": o.RemoveLinks, "force": o.Force} {
		if on {
			q.Set(k, "1")
		}
	}
	return ContainerRemoveResult{}, c.delete(ctx, "/containers/"+id, q)
}

// ContainerPrune removes stopped containers.
func (c *Client) ContainerPrune(ctx context.Context, o ContainerPruneOptions) (ContainerPruneResult, error) {
	r, err := prune[container.PruneReport](ctx, c, "/containers/prune", filterQuery(o.Filters), "Error retrieving disk usage")
	return ContainerPruneResult{Report: r}, err
}

// ContainerTop lists a container's processes.
func (c *Client) ContainerTop(ctx context.Context, id string, o ContainerTopOptions) (ContainerTopResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return ContainerTopResult{}, err
	}
	q := url.Values{}
	if len(o.Arguments) > 0 {
		q.Set("ps_args", strings.Join(o.Arguments, " "))
	}
	var r container.TopResponse
	err = c.get(ctx, "/containers/"+id+"/top", q, &r)
	return ContainerTopResult{Processes: r.Processes, Titles: r.Titles}, err
}

// ContainerDiff lists the changes to a container's filesystem.
func (c *Client) ContainerDiff(ctx context.Context, id string, _ ContainerDiffOptions) (ContainerDiffResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return ContainerDiffResult{}, err
	}
	var r ContainerDiffResult
	err = c.get(ctx, "/containers/"+id+"/changes", nil, &r.Changes)
	return r, err
}

// ContainerExport returns a tarball of a container's filesystem.
func (c *Client) ContainerExport(ctx context.Context, id string, _ ContainerExportOptions) (io.ReadCloser, error) {
	id, err := trimID("container", id)
	if err != nil {
		return nil, err
	}
	return c.stream(ctx, http.MethodGet, "/containers/"+id+"/export", nil, nil, nil)
}

// ContainerUpdate changes a container's resources or restart policy.
func (c *Client) ContainerUpdate(ctx context.Context, id string, o ContainerUpdateOptions) (ContainerUpdateResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return ContainerUpdateResult{}, err
	}
	var uc container.UpdateConfig
	if o.Resources != nil {
		uc.Resources = *o.Resources
	}
	if o.RestartPolicy != nil {
		uc.RestartPolicy = *o.RestartPolicy
	}
	var r container.UpdateResponse
	err = c.post(ctx, "/containers/"+id+"/update", nil, uc, &r)
	return ContainerUpdateResult{Warnings: r.Warnings}, err
}

// ContainerStats returns a container's stats stream (or one sample).
func (c *Client) ContainerStats(ctx context.Context, id string, o ContainerStatsOptions) (ContainerStatsResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return ContainerStatsResult{}, err
	}
	q := url.Values{}
	q.Set("stream", strconv.FormatBool(o.Stream))
	if !o.Stream && !o.IncludePreviousSample {
		q.Set("one-shot", "true")
	}
	rc, err := c.stream(ctx, http.MethodGet, "/containers/"+id+"/stats", q, nil, nil)
	return ContainerStatsResult{Body: rc}, err
}

// pathStat decodes the X-Docker-Container-Path-Stat header.
func pathStat(h http.Header) (container.PathStat, error) {
	var st container.PathStat
	dec := base64.NewDecoder(base64.StdEncoding, strings.NewReader(h.Get("X-Docker-Container-Path-Stat")))
	if err := json.NewDecoder(dec).Decode(&st); err != nil {
		return st, fmt.Errorf("unable to decode container path stat header: %s", err)
	}
	return st, nil
}

func pathQuery(p string) url.Values {
	q := url.Values{}
	q.Set("path", filepath.ToSlash(p))
	return q
}
