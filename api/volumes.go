package api

import (
	"context"
	"net/http"

	"github.com/moby/moby/api/types/volume"
)

// VolumeBackend is what the volume routes need (*volumes.Service
// implements it).
type VolumeBackend interface {
	Create(ctx context.Context, req volume.CreateRequest) (*volume.Volume, error)
	Get(ctx context.Context, name string) (*volume.Volume, error)
	List(ctx context.Context, filters map[string][]string) ([]*volume.Volume, error)
	Remove(ctx context.Context, name string, force bool) error
	Prune(ctx context.Context, filters map[string][]string) (*volume.PruneReport, error)
}

func (s *Server) volumeRoutes() {
	s.handle("GET /volumes", s.getVolumes)
	s.handle("POST /volumes/create", s.postVolumesCreate)
	s.handle("POST /volumes/prune", s.postVolumesPrune)
	s.handle("GET /volumes/{name}", s.getVolume)
	s.handle("DELETE /volumes/{name}", s.deleteVolume)
}

func (s *Server) getVolumes(w http.ResponseWriter, r *http.Request) error {
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	vols, err := s.b.Volumes.List(r.Context(), filters)
	if err != nil {
		return err
	}
	resp := volume.ListResponse{Volumes: make([]volume.Volume, 0, len(vols)), Warnings: []string{}}
	for _, v := range vols {
		resp.Volumes = append(resp.Volumes, *v)
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getVolume(w http.ResponseWriter, r *http.Request) error {
	v, err := s.b.Volumes.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) postVolumesCreate(w http.ResponseWriter, r *http.Request) error {
	var req volume.CreateRequest
	if err := decodeJSON(r, &req, true); err != nil {
		return err
	}
	if err := checkMapSize("labels", req.Labels); err != nil {
		return err
	}
	if err := checkMapSize("driver options", req.DriverOpts); err != nil {
		return err
	}
	v, err := s.b.Volumes.Create(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (s *Server) deleteVolume(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Volumes.Remove(r.Context(), r.PathValue("name"), boolValue(r, "force")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postVolumesPrune(w http.ResponseWriter, r *http.Request) error {
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	// Before API 1.42, prune removed named volumes too (Docker keeps that
	// for old clients).
	if compareVersions(RequestVersion(r), "1.42") < 0 && len(filters["all"]) == 0 {
		filters["all"] = []string{"true"}
	}
	report, err := s.b.Volumes.Prune(r.Context(), filters)
	if err != nil {
		return err
	}
	if report.VolumesDeleted == nil {
		report.VolumesDeleted = []string{}
	}
	return writeJSON(w, http.StatusOK, report)
}
