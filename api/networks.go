package api

import (
	"context"
	"net/http"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/network"
)

// NetworkBackend is what the network routes need. Create, List, Inspect,
// Remove and Prune are engine/network.Service's own methods. Connect and
// disconnect take a container reference (name or ID prefix) that only the
// container service can resolve, and a stopped container is connected in
// its configuration rather than live, so the daemon supplies those two
// (resolve, then call network.Service.ConnectNetwork/DisconnectNetwork for
// a running container).
type NetworkBackend interface {
	Create(ctx context.Context, req network.CreateRequest) (id, warning string, err error)
	List(ctx context.Context, filters map[string][]string) ([]network.Summary, error)
	Inspect(ctx context.Context, ref string, verbose bool) (network.Inspect, error)
	Remove(ctx context.Context, ref string) error
	Prune(ctx context.Context, filters map[string][]string) (network.PruneReport, error)
	NetworkConnect(ctx context.Context, netRef, containerRef string, ep *network.EndpointSettings) error
	NetworkDisconnect(ctx context.Context, netRef, containerRef string, force bool) error
}

func (s *Server) networkRoutes() {
	s.handle("GET /networks", s.getNetworks)
	s.handle("GET /networks/{$}", s.getNetworks)
	s.handle("GET /networks/{id}", s.getNetwork)
	s.handle("POST /networks/create", s.postNetworksCreate)
	s.handle("DELETE /networks/{id}", s.deleteNetwork)
	s.handle("POST /networks/{id}/connect", s.postNetworkConnect)
	s.handle("POST /networks/{id}/disconnect", s.postNetworkDisconnect)
	s.handle("POST /networks/prune", s.postNetworksPrune)
}

// getNetworks answers `docker network ls`. As Docker's API 1.47 does, each
// entry carries an empty Containers object.
func (s *Server) getNetworks(w http.ResponseWriter, r *http.Request) error {
	f, err := filtersValue(r)
	if err != nil {
		return err
	}
	list, err := s.b.Networks.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]network.Inspect, 0, len(list))
	for _, n := range list {
		out = append(out, network.Inspect{Network: n.Network, Containers: map[string]network.EndpointResource{}})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getNetwork(w http.ResponseWriter, r *http.Request) error {
	n, err := s.b.Networks.Inspect(r.Context(), r.PathValue("id"), boolValue(r, "verbose"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}

func (s *Server) postNetworksCreate(w http.ResponseWriter, r *http.Request) error {
	var req network.CreateRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if err := checkMapSize("labels", req.Labels); err != nil {
		return err
	}
	if err := checkMapSize("options", req.Options); err != nil {
		return err
	}
	id, warning, err := s.b.Networks.Create(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, network.CreateResponse{ID: id, Warning: warning})
}

func (s *Server) deleteNetwork(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Networks.Remove(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postNetworkConnect(w http.ResponseWriter, r *http.Request) error {
	var req network.ConnectRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.Container == "" {
		return errInvalidContainer()
	}
	if err := s.b.Networks.NetworkConnect(r.Context(), r.PathValue("id"), req.Container, req.EndpointConfig); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) postNetworkDisconnect(w http.ResponseWriter, r *http.Request) error {
	var req network.DisconnectRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.Container == "" {
		return errInvalidContainer()
	}
	if err := s.b.Networks.NetworkDisconnect(r.Context(), r.PathValue("id"), req.Container, req.Force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) postNetworksPrune(w http.ResponseWriter, r *http.Request) error {
	f, err := filtersValue(r)
	if err != nil {
		return err
	}
	rep, err := s.b.Networks.Prune(r.Context(), f)
	if err != nil {
		return err
	}
	if rep.NetworksDeleted == nil {
		rep.NetworksDeleted = []string{}
	}
	return writeJSON(w, http.StatusOK, rep)
}

func errInvalidContainer() error {
	return errdefs.Invalid("container name or ID is required")
}
