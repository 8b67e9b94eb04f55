package api

import (
	"context"
	"net/http"

	"github.com/berth-dev/berth/engine/containers"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/volume"
)

// diskUsage is /system/df in the API 1.47 shape the docker CLI of that
// version reads (newer API versions group it differently).
type diskUsage struct {
	LayersSize int64
	Images     []image.Summary
	Containers []container.Summary
	Volumes    []*volume.Volume
	BuildCache []any
}

func (s *Server) getSystemDF(w http.ResponseWriter, r *http.Request) error {
	want := map[string]bool{}
	for _, t := range r.URL.Query()["type"] {
		want[t] = true
	}
	all := len(want) == 0
	du := diskUsage{Images: []image.Summary{}, Containers: []container.Summary{}, Volumes: []*volume.Volume{}, BuildCache: []any{}}
	if all || want["image"] {
		list, err := s.b.Images.List(r.Context(), false)
		if err != nil {
			return err
		}
		for _, img := range list {
			labels := img.Config.Config.Labels
			if labels == nil {
				labels = map[string]string{}
			}
			du.LayersSize += img.Size
			du.Images = append(du.Images, image.Summary{
				Containers: int64(s.b.Images.InUse(img.ID)), Created: img.Created.Unix(), ID: img.ID,
				Labels: labels, ParentID: img.Parent, RepoDigests: img.RepoDigests, RepoTags: img.RepoTags,
				SharedSize: 0, Size: img.Size,
			})
		}
	}
	if all || want["container"] {
		list, err := s.b.Containers.List(r.Context(), containers.ListOptions{All: true, Size: true})
		if err != nil {
			return err
		}
		du.Containers = list
	}
	if (all || want["volume"]) && s.b.Volumes != nil {
		vols, err := s.b.Volumes.List(r.Context(), nil)
		if err != nil {
			return err
		}
		refs := map[string]int64{}
		if ctrs, err := s.b.Containers.List(r.Context(), containers.ListOptions{All: true}); err == nil {
			for _, c := range ctrs {
				for _, m := range c.Mounts {
					if m.Type == "volume" {
						refs[m.Name]++
					}
				}
			}
		}
		sizer, _ := s.b.Volumes.(interface {
			Size(ctx context.Context, name string) (int64, error)
		})
		for _, v := range vols {
			size := int64(-1)
			if sizer != nil {
				if n, err := sizer.Size(r.Context(), v.Name); err == nil {
					size = n
				}
			}
			v.UsageData = &volume.UsageData{RefCount: refs[v.Name], Size: size}
			du.Volumes = append(du.Volumes, v)
		}
	}
	if (all || want["build-cache"]) && s.b.BuildKit != nil {
		recs, err := s.b.BuildKit.BuildCache(r.Context())
		if err != nil {
			return err
		}
		for _, rec := range recs {
			du.BuildCache = append(du.BuildCache, rec)
		}
	}
	return writeJSON(w, http.StatusOK, du)
}
