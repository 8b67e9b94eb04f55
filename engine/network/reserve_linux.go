package network

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/network"
)

// A container prepared ahead of its start (the containers service's
// start-ahead) needs its network namespace before the runtime creates it,
// but nothing else of its network: its addresses, ports, DNS names and
// bridge ports are taken at the start, as for any other, so a created
// container holds nothing `network inspect`, `network rm` or another
// container could see. ReserveNetNS gives it a pooled namespace (loopback
// up, "eth0" waiting) mounted at the container's own namespace path; its
// Connect then wires that one instead of taking another. Reservations are
// never recorded: after a crash, Reconcile removes the mount with every
// namespace no sandbox owns.

// errReservationStale is Connect's error when a reserved namespace cannot
// serve the container's networks as they are now (the reservation is
// dropped; the caller starts afresh).
var errReservationStale = errors.New("the network namespace prepared for this container no longer fits its networks")

// ReserveNetNS mounts a prepared network namespace at the path req's
// container will have when it is connected, and returns that path; ok is
// false when its networks cannot be served by one (not a single IPv4
// bridge endpoint, or sandboxed).
func (s *Service) ReserveNetNS(req ConnectRequest) (path string, ok bool, err error) {
	mtu, ok := s.reservableMTU(req)
	if !ok {
		return "", false, nil
	}
	p := &s.pool
	p.mu.Lock()
	_, dup := p.reserved[req.ContainerID]
	p.mu.Unlock()
	if dup {
		return "", false, nil
	}
	e := s.takePooled(mtu)
	if e == nil {
		made, err := s.makePooled(mtu)
		if err != nil {
			return "", false, err
		}
		e = &made
	}
	path = filepath.Join(s.netns, req.ContainerID)
	s.awaitNetNSRemoval(path) // see ConnectDeferred
	if err := e.adopt(path, &s.bg); err != nil {
		return "", false, err
	}
	p.mu.Lock()
	if p.reserved == nil {
		p.reserved = map[string]*pooledNS{}
	}
	p.reserved[req.ContainerID] = &pooledNS{path: path, veth: e.veth, mtu: mtu, ifIndex: e.ifIndex}
	p.mu.Unlock()
	return path, true, nil
}

// reservableMTU is the MTU of req's only network if a pooled namespace can
// serve it.
func (s *Service) reservableMTU(req ConnectRequest) (int, bool) {
	if req.Sandboxed || strings.HasPrefix(req.NetworkMode, "container:") {
		return 0, false
	}
	mode := req.NetworkMode
	if mode == "" || mode == network.NetworkDefault {
		mode = network.NetworkBridge
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	primary, err := s.lookup(mode)
	if err != nil {
		return 0, false
	}
	plans, err := s.planEndpointsLocked(primary, req.Endpoints)
	if err != nil || !poolUsable(plans) {
		return 0, false
	}
	return plans[0].n.rec.MTU, true
}

// ReleaseNetNS removes a namespace ReserveNetNS made that no Connect took.
func (s *Service) ReleaseNetNS(containerID string) error {
	if e := s.takeReserved(containerID); e != nil {
		return e.destroy()
	}
	return nil
}

func (s *Service) takeReserved(containerID string) *pooledNS {
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.reserved[containerID]
	delete(p.reserved, containerID)
	return e
}

// reservedFor returns the namespace reserved for the container if it can
// serve plans; one that cannot is removed and errReservationStale
// returned. Without a reservation it returns nil, nil.
func (s *Service) reservedFor(containerID string, plans []endpointPlan) (*pooledNS, error) {
	e := s.takeReserved(containerID)
	if e == nil {
		return nil, nil
	}
	if !poolUsable(plans) || plans[0].n.rec.MTU != e.mtu {
		e.destroy()
		return nil, errReservationStale
	}
	return e, nil
}
