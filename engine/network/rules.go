package network

import (
	"context"

	"github.com/berth-dev/berth/engine/network/iptables"
	"github.com/berth-dev/berth/engine/network/socklb"
)

// The rule sets are rendered from the in-memory state and applied whole, so
// they are always exactly what the state says. Callers hold s.mu.

func (s *Service) networkRules() []iptables.Network {
	var out []iptables.Network
	for _, n := range s.nets {
		if n.rec.Driver != "bridge" {
			continue
		}
		out = append(out, iptables.Network{Bridge: n.rec.Bridge, Subnet: n.rec.Subnet, ICC: n.rec.ICC, Masquerade: n.rec.Masquerade, Internal: n.rec.Internal})
	}
	return out
}

func (s *Service) portRules() []iptables.Port {
	var out []iptables.Port
	for _, sb := range s.sandboxes {
		for _, pr := range sb.rec.Ports {
			n := s.nets[pr.NetworkID]
			if n == nil {
				continue
			}
			if pr.HostIP.Is6() {
				continue // rules6.go
			}
			for _, ep := range sb.rec.Endpoints {
				if ep.NetworkID == pr.NetworkID && ep.IP.IsValid() {
					out = append(out, iptables.Port{Bridge: n.rec.Bridge, Proto: pr.Proto, HostIP: pr.HostIP, HostPort: pr.HostPort, ContainerIP: ep.IP, ContainerPort: pr.ContainerPort})
				}
			}
		}
	}
	return out
}

func (s *Service) applyNetworkRules(ctx context.Context) error {
	if !s.cfg.Iptables {
		return nil
	}
	if err := iptables.Apply(context.WithoutCancel(ctx), s.chains.RenderNetworks(s.networkRules())); err != nil {
		return err
	}
	return s.applyNetworkRules6(ctx)
}

func (s *Service) applyPortRules(ctx context.Context) error {
	if !s.cfg.Iptables {
		return nil
	}
	ports := s.portRules()
	s.syncFastPath(ports)
	if err := iptables.Apply(context.WithoutCancel(ctx), s.chains.RenderPorts(ports)); err != nil {
		return err
	}
	return s.applyPortRules6(ctx)
}

// openFastPath attaches the socket-level fast path for published loopback
// ports (see socklb); where it cannot be had, the DNAT rules serve alone,
// as they do for everything the fast path leaves to them.
func (s *Service) openFastPath() {
	lb, err := socklb.Open()
	if err != nil {
		s.log.Info("published ports: no socket-level fast path, connections from the host go through DNAT", "reason", err)
		return
	}
	s.lb = lb
}

// syncFastPath renders the fast path's map from the same ports as the DNAT
// rules. It runs before the rules are applied, so that a port going away
// stops being redirected even if iptables fails. Should the map refuse an
// update, the fast path is detached rather than left partly wrong: DNAT
// then serves every port, and the operation goes on.
func (s *Service) syncFastPath(ports []iptables.Port) {
	if s.lb == nil {
		return
	}
	if err := s.lb.Sync(ports); err != nil {
		s.log.Warn("published ports: the fast path's map could not be updated, detaching it (DNAT serves)", "err", err)
		s.closeFastPath()
	}
}

func (s *Service) closeFastPath() {
	if s.lb == nil {
		return
	}
	if err := s.lb.Close(); err != nil {
		s.log.Warn("detaching the published-port fast path", "err", err)
	}
	s.lb = nil
}

func (s *Service) applyAllRules(ctx context.Context) error {
	if !s.cfg.Iptables {
		return nil
	}
	ports := s.portRules()
	s.syncFastPath(ports)
	if err := iptables.Apply(context.WithoutCancel(ctx), s.chains.RenderNetworks(s.networkRules())+s.chains.RenderPorts(ports)); err != nil {
		return err
	}
	if !s.v6Rules() {
		return nil
	}
	return iptables.Apply6(context.WithoutCancel(ctx), s.chains.RenderNetworks6(s.networkRules6())+s.chains.RenderPorts6(s.portRules6()))
}
