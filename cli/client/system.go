package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"

	"github.com/berth-dev/berth/internal/timestamp"
)

type (
	InfoOptions          struct{}
	SystemInfoResult     struct{ Info system.Info }
	ServerVersionOptions struct{}
	PlatformInfo         struct{ Name string }
	ServerVersionResult  struct {
		Platform                                     PlatformInfo
		Version, APIVersion, MinAPIVersion, Os, Arch string
		Experimental                                 bool
		Components                                   []system.ComponentVersion
	}
	DiskUsageOptions struct{ Containers, Images, BuildCache, Volumes, Verbose bool }
	// diskUsage are the counts of one kind of object.
	diskUsage       struct{ ActiveCount, TotalCount, Reclaimable, TotalSize int64 }
	ImagesDiskUsage struct {
		diskUsage
		Items []image.Summary
	}
	ContainersDiskUsage struct {
		diskUsage
		Items []container.Summary
	}
	VolumesDiskUsage struct {
		diskUsage
		Items []volume.Volume
	}
	BuildCacheDiskUsage struct {
		diskUsage
		Items []build.CacheRecord
	}
	DiskUsageResult struct {
		Containers ContainersDiskUsage
		Images     ImagesDiskUsage
		BuildCache BuildCacheDiskUsage
		Volumes    VolumesDiskUsage
	}
	EventsListOptions struct {
		Since, Until string
		Filters      Filters
	}
	EventsResult struct {
		Messages <-chan events.Message
		Err      <-chan error
	}
)

// Info returns the daemon's system information.
func (c *Client) Info(ctx context.Context, _ InfoOptions) (SystemInfoResult, error) {
	var r SystemInfoResult
	if err := c.get(ctx, "/info", nil, &r.Info); err != nil {
		return SystemInfoResult{}, wrapDecode("Error reading remote info: %v", err)
	}
	return r, nil
}

// wrapDecode words a failure to decode a response with format; daemon
// and connection errors pass through.
func wrapDecode(format string, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if err == io.EOF || err == io.ErrUnexpectedEOF || asErr(err, &se) || asErr(err, &te) {
		return fmt.Errorf(format, err)
	}
	return err
}

// ServerVersion returns the daemon's version.
func (c *Client) ServerVersion(ctx context.Context, _ ServerVersionOptions) (ServerVersionResult, error) {
	var v system.VersionResponse
	if err := c.get(ctx, "/version", nil, &v); err != nil {
		return ServerVersionResult{}, err
	}
	return ServerVersionResult{
		Platform: PlatformInfo{Name: v.Platform.Name}, Version: v.Version, APIVersion: v.APIVersion,
		MinAPIVersion: v.MinAPIVersion, Os: v.Os, Arch: v.Arch, Experimental: v.Experimental, //nolint:staticcheck
		Components: v.Components,
	}, nil
}

// Events streams the daemon's events until ctx ends or an error.
func (c *Client) Events(ctx context.Context, o EventsListOptions) EventsResult {
	msgs := make(chan events.Message)
	errs := make(chan error, 1)
	q, err := eventsQuery(o)
	if err != nil {
		errs <- err
		close(errs)
		return EventsResult{Messages: msgs, Err: errs}
	}
	h := http.Header{"Accept": {"application/jsonl", "application/x-ndjson;q=0.9", "application/json-seq;q=0.5"}}
	resp, err := c.send(ctx, http.MethodGet, "/events", q, h, nil)
	if err != nil {
		errs <- err
		close(errs)
		return EventsResult{Messages: msgs, Err: errs}
	}
	go func() {
		defer close(errs)
		defer resp.Body.Close()
		var body io.Reader = resp.Body
		if resp.Header.Get("Content-Type") == "application/json-seq" {
			body = rsFilter{body}
		}
		dec := json.NewDecoder(body)
		for {
			var ev events.Message
			if err := dec.Decode(&ev); err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				errs <- err
				return
			}
			select {
			case msgs <- ev:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
		}
	}()
	return EventsResult{Messages: msgs, Err: errs}
}

func eventsQuery(o EventsListOptions) (url.Values, error) {
	q := filterQuery(o.Filters)
	now := time.Now()
	for k, v := range map[string]string{"since": o.Since, "until": o.Until} {
		if v == "" {
			continue
		}
		ts, err := timestamp.API(v, now)
		if err != nil {
			return nil, err
		}
		q.Set(k, ts)
	}
	return q, nil
}

// rsFilter drops the record separators of a JSON text sequence.
type rsFilter struct{ r io.Reader }

func (f rsFilter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		m := copy(p, bytes.ReplaceAll(p[:n], []byte{0x1e}, nil))
		if m > 0 || err != nil {
			return m, err
		}
	}
}
