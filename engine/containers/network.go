package containers

import (
	"context"

	"github.com/berth-dev/berth/internal/errdefs"
	evtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
)

// NetworkConnect joins a container to a network (`docker network connect`):
// at once when it runs, at its next start otherwise.
func (s *Service) NetworkConnect(ctx context.Context, netRef, ref string, ep *network.EndpointSettings) error {
	if s.net == nil {
		return errdefs.NotImplemented("networking is not enabled")
	}
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	nw, err := s.net.Inspect(ctx, netRef, false)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.discardPrep(e) // its namespace was chosen for its networks
	mode := string(e.c.HostConfig.NetworkMode)
	if mode == "host" || mode == "none" {
		return errdefs.Invalid("container cannot be disconnected from host network or connected to host network")
	}
	// A running container's live endpoints are the network service's to
	// judge (ConnectNetwork refuses a second one on the same network): its
	// configuration still names a network it was disconnected from, which
	// Docker lets it join again.
	if ep == nil {
		ep = &network.EndpointSettings{}
	}
	if e.c.State.Running() {
		err := s.rewireRunning(e, nw, evtypes.ActionConnect, func() error {
			return s.net.ConnectNetwork(ctx, e.c.ID, nw.Name, ep)
		})
		if err != nil {
			return err
		}
	}
	if e.c.Endpoints == nil {
		e.c.Endpoints = map[string]*network.EndpointSettings{}
	}
	e.c.Endpoints[nw.Name] = ep
	return s.persist(e)
}

// NetworkDisconnect removes a container from a network.
func (s *Service) NetworkDisconnect(ctx context.Context, netRef, ref string, force bool) error {
	if s.net == nil {
		return errdefs.NotImplemented("networking is not enabled")
	}
	e, err := s.lookup(ref)
	if err != nil {
		if force && errdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	nw, err := s.net.Inspect(ctx, netRef, false)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.discardPrep(e)
	_, configured := e.c.Endpoints[nw.Name]
	if !configured && string(e.c.HostConfig.NetworkMode) != nw.Name {
		return errdefs.Forbidden("container %s is not connected to network %s", e.c.ID, nw.Name)
	}
	if e.c.State.Running() {
		err := s.rewireRunning(e, nw, evtypes.ActionDisconnect, func() error {
			return s.net.DisconnectNetwork(ctx, e.c.ID, nw.Name, force)
		})
		if err != nil {
			return err
		}
	}
	delete(e.c.Endpoints, nw.Name)
	return s.persist(e)
}
