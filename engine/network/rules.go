package network

import (
	"context"

	"github.com/berth-dev/berth/engine/network/iptables"
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
	if err := iptables.Apply(context.WithoutCancel(ctx), s.chains.RenderPorts(s.portRules())); err != nil {
		return err
	}
	return s.applyPortRules6(ctx)
}

func (s *Service) applyAllRules(ctx context.Context) error {
	if !s.cfg.Iptables {
		return nil
	}
	if err := iptables.Apply(context.WithoutCancel(ctx), s.chains.RenderNetworks(s.networkRules())+s.chains.RenderPorts(s.portRules())); err != nil {
		return err
	}
	if !s.v6Rules() {
		return nil
	}
	return iptables.Apply6(context.WithoutCancel(ctx), s.chains.RenderNetworks6(s.networkRules6())+s.chains.RenderPorts6(s.portRules6()))
}
