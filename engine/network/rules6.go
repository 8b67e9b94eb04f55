package network

import (
	"context"

	"github.com/berth-dev/berth/engine/network/iptables"
)

// IPv6 rule sets, rendered from the same state as the IPv4 ones: every
// bridge network with IPv6 enabled, and the published ports bound on IPv6
// host addresses. Callers hold s.mu.

func (s *Service) v6Rules() bool {
	return s.cfg.Iptables && s.cfg.Ip6tables && s.ip6Err == nil
}

// setupIp6tables creates the ip6tables chains and jumps at start. A host
// without IPv6 or ip6tables still runs IPv4 networks: the reason is kept
// and IPv6 networks are refused with it.
func (s *Service) setupIp6tables(ctx context.Context) error {
	if !s.cfg.Ip6tables {
		return nil
	}
	if why := IPv6Status(); why != "" {
		s.ip6Err = errorString(why)
		return nil
	}
	err := s.chains.EnsureChains6(ctx)
	if err == nil {
		err = iptables.Apply6(ctx, s.chains.RenderNetworks6(s.networkRules6())+s.chains.RenderPorts6(s.portRules6()))
	}
	if err == nil {
		err = s.chains.EnsureJumps6(ctx)
	}
	if err != nil {
		for _, n := range s.nets {
			if n.rec.EnableIPv6 {
				return err // an IPv6 network exists: it needs its rules
			}
		}
		s.log.Warn("ip6tables is not usable: IPv6 networks cannot be created", "err", err)
		s.ip6Err = err
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

func (s *Service) networkRules6() []iptables.Network {
	var out []iptables.Network
	for _, n := range s.nets {
		if n.rec.Driver != "bridge" || !n.rec.EnableIPv6 {
			continue
		}
		out = append(out, iptables.Network{Bridge: n.rec.Bridge, Subnet: n.rec.Subnet6, ICC: n.rec.ICC, Masquerade: n.rec.Masquerade, Internal: n.rec.Internal})
	}
	return out
}

func (s *Service) portRules6() []iptables.Port {
	var out []iptables.Port
	for _, sb := range s.sandboxes {
		for _, pr := range sb.rec.Ports {
			n := s.nets[pr.NetworkID]
			if n == nil || !pr.HostIP.Is6() {
				continue
			}
			for _, ep := range sb.rec.Endpoints {
				if ep.NetworkID == pr.NetworkID && ep.IPv6.IsValid() {
					out = append(out, iptables.Port{Bridge: n.rec.Bridge, Proto: pr.Proto, HostIP: pr.HostIP, HostPort: pr.HostPort, ContainerIP: ep.IPv6, ContainerPort: pr.ContainerPort})
				}
			}
		}
	}
	return out
}

func (s *Service) applyNetworkRules6(ctx context.Context) error {
	if !s.v6Rules() {
		return nil
	}
	return iptables.Apply6(context.WithoutCancel(ctx), s.chains.RenderNetworks6(s.networkRules6()))
}

func (s *Service) applyPortRules6(ctx context.Context) error {
	if !s.v6Rules() {
		return nil
	}
	return iptables.Apply6(context.WithoutCancel(ctx), s.chains.RenderPorts6(s.portRules6()))
}
