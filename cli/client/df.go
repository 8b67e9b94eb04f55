package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"
)

// DiskUsage returns the disk use of the kinds of object asked for.
func (c *Client) DiskUsage(ctx context.Context, o DiskUsageOptions) (DiskUsageResult, error) {
	q := url.Values{}
	for _, t := range []struct {
		on  bool
		obj system.DiskUsageObject
	}{{o.Containers, system.ContainerObject}, {o.Images, system.ImageObject}, {o.Volumes, system.VolumeObject}, {o.BuildCache, system.BuildCacheObject}} {
		if t.on {
			q.Add("type", string(t.obj))
		}
	}
	if o.Verbose {
		q.Set("verbose", "1")
	}
	resp, err := c.send(ctx, http.MethodGet, "/system/df", q, nil, nil)
	if err != nil {
		return DiskUsageResult{}, err
	}
	defer ensureReaderClosed(resp)
	if versionLess(c.ClientVersion(), "1.52") {
		var du legacyDiskUsage
		if err := decodeJSON(resp, &du); err != nil {
			return DiskUsageResult{}, fmt.Errorf("retrieving disk usage: %v", err)
		}
		return du.result(), nil
	}
	var du system.DiskUsage
	if err := decodeJSON(resp, &du); err != nil {
		return DiskUsageResult{}, fmt.Errorf("retrieving disk usage: %v", err)
	}
	return diskUsageResult(&du, o.Verbose), nil
}

func diskUsageResult(du *system.DiskUsage, verbose bool) DiskUsageResult {
	var r DiskUsageResult
	if u := du.ImageUsage; u != nil {
		r.Images = ImagesDiskUsage{diskUsage{u.ActiveCount, u.TotalCount, u.Reclaimable, u.TotalSize}, itemsIf(verbose, u.Items)}
	}
	if u := du.ContainerUsage; u != nil {
		r.Containers = ContainersDiskUsage{diskUsage{u.ActiveCount, u.TotalCount, u.Reclaimable, u.TotalSize}, itemsIf(verbose, u.Items)}
	}
	if u := du.BuildCacheUsage; u != nil {
		r.BuildCache = BuildCacheDiskUsage{diskUsage{u.ActiveCount, u.TotalCount, u.Reclaimable, u.TotalSize}, itemsIf(verbose, u.Items)}
	}
	if u := du.VolumeUsage; u != nil {
		r.Volumes = VolumesDiskUsage{diskUsage{u.ActiveCount, u.TotalCount, u.Reclaimable, u.TotalSize}, itemsIf(verbose, u.Items)}
	}
	return r
}

// itemsIf is items when verbose, else nil.
func itemsIf[T any](verbose bool, items []T) []T {
	if verbose {
		return items
	}
	return nil
}

// legacyDiskUsage is /system/df before API 1.52: the objects, counted
// here.
type legacyDiskUsage struct {
	LayersSize int64
	Images     []image.Summary
	Containers []container.Summary
	Volumes    []volume.Volume
	BuildCache []build.CacheRecord
}

func (du *legacyDiskUsage) result() DiskUsageResult {
	var r DiskUsageResult
	r.Images = ImagesDiskUsage{diskUsage{TotalSize: du.LayersSize, TotalCount: int64(len(du.Images))}, du.Images}
	for _, img := range du.Images {
		switch {
		case img.Containers > 0:
			r.Images.ActiveCount++
		case img.Containers == 0 && img.Size != -1 && img.SharedSize != -1:
			r.Images.Reclaimable += img.Size - img.SharedSize
		}
	}
	r.Containers = ContainersDiskUsage{diskUsage{TotalCount: int64(len(du.Containers))}, du.Containers}
	var used int64
	for _, c := range du.Containers {
		r.Containers.TotalSize += c.SizeRw
		switch c.State {
		case container.StateRunning, container.StatePaused, container.StateRestarting:
			r.Containers.ActiveCount++
			used += c.SizeRw
		}
	}
	r.Containers.Reclaimable = r.Containers.TotalSize - used
	r.BuildCache = BuildCacheDiskUsage{diskUsage{TotalCount: int64(len(du.BuildCache))}, du.BuildCache}
	used = 0
	for _, b := range du.BuildCache {
		if !b.Shared {
			r.BuildCache.TotalSize += b.Size
		}
		if b.InUse {
			r.BuildCache.ActiveCount++
			if !b.Shared {
				used += b.Size
			}
		}
	}
	r.BuildCache.Reclaimable = r.BuildCache.TotalSize - used
	r.Volumes = VolumesDiskUsage{diskUsage{TotalCount: int64(len(du.Volumes))}, du.Volumes}
	used = 0
	for _, v := range du.Volumes {
		if v.UsageData == nil {
			continue
		}
		if v.UsageData.RefCount > 0 {
			r.Volumes.ActiveCount++
			used += v.UsageData.Size
		}
		if v.UsageData.Size > 0 {
			r.Volumes.TotalSize += v.UsageData.Size
		}
	}
	r.Volumes.Reclaimable = r.Volumes.TotalSize - used
	return r
}
