package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/berth-dev/berth/engine/network/ipam"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/network"
)

// IPv6Status says whether this host's kernel can run IPv6 networks: "" when
// it can, else why not (for errors and `berth info`).
func IPv6Status() string {
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		return "IPv6 is disabled in this host's kernel (booted with ipv6.disable=1, or without the ipv6 module): IPv6 networks cannot be created"
	}
	return ""
}

// userSubnet6Locked validates a network's --subnet for IPv6 (with
// --ip-range and --gateway) and records it. Caller holds s.mu.
func (s *Service) userSubnet6Locked(rec *netRecord, c network.IPAMConfig) error {
	if c.Subnet != c.Subnet.Masked() {
		return errdefs.Invalid("invalid subnet %s: it should be %s", c.Subnet, c.Subnet.Masked())
	}
	for _, n := range s.nets {
		if n.rec.Subnet6.IsValid() && n.rec.Subnet6.Overlaps(c.Subnet) {
			return errdefs.Forbidden("invalid pool request: Pool overlaps with other one on this address space")
		}
	}
	if c.IPRange.IsValid() && !c.IPRange.Addr().Is6() {
		return errdefs.Invalid("invalid ip-range %s for IPv6 subnet %s", c.IPRange, c.Subnet)
	}
	if c.Gateway.IsValid() && !c.Gateway.Is6() {
		return errdefs.Invalid("invalid gateway %s for IPv6 subnet %s", c.Gateway, c.Subnet)
	}
	rec.Subnet6, rec.IPRange6, rec.Gateway6, rec.UserSubnet6 = c.Subnet, c.IPRange, c.Gateway, true
	return nil
}

// pool6Locked gives an IPv6 network its pool, picking a free unique local
// /64 when no subnet was given (as Docker 27 does), and checks that the
// host can run it. Caller holds s.mu.
func (s *Service) pool6Locked(rec *netRecord) (*ipam.Pool6, error) {
	if why := IPv6Status(); why != "" {
		return nil, errdefs.Unavailable("%s", why)
	}
	if s.ip6Err != nil {
		return nil, errdefs.Unavailable("IPv6 networks need ip6tables, which failed at start: %v", s.ip6Err)
	}
	if !rec.Subnet6.IsValid() {
		sub, err := ipam.RandomULA(s.usedSubnets6())
		if err != nil {
			return nil, errdefs.Forbidden("%s", err.Error())
		}
		rec.Subnet6 = sub
	}
	p, err := ipam.NewPool6(rec.Subnet6, rec.IPRange6, rec.Gateway6)
	if err != nil {
		return nil, errdefs.Invalid("%s", err.Error())
	}
	rec.Gateway6 = p.Gateway
	s.enableForwarding6()
	return p, nil
}

// usedSubnets6 are the IPv6 subnets of our networks and of the host's
// routes. Caller holds s.mu or is New.
func (s *Service) usedSubnets6() []netip.Prefix {
	used := hostRoutes6()
	for _, n := range s.nets {
		if n.rec.Subnet6.IsValid() {
			used = append(used, n.rec.Subnet6)
		}
	}
	return used
}

// enableForwarding6 sets net.ipv6.conf.all.forwarding=1, as Docker does
// once an IPv6 network exists (containers reach beyond their bridge).
func (s *Service) enableForwarding6() {
	if !s.cfg.IPForward {
		return
	}
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/all/forwarding", []byte("1\n"), 0o644); err != nil {
		s.log.Warn("could not enable IPv6 forwarding (net.ipv6.conf.all.forwarding)", "err", err)
	}
}

// defaultBridge6 resolves the default bridge's IPv6 subnet: fixed-cidr-v6,
// the one recorded, or a new unique local /64. ok is false when daemon.json
// does not enable IPv6 on it.
func (s *Service) defaultBridge6(cur *netState) (sub netip.Prefix, ok bool, err error) {
	if !s.cfg.IPv6 {
		if s.cfg.FixedCIDRv6 != "" {
			return sub, false, fmt.Errorf("fixed-cidr-v6 is set but ipv6 is not enabled: add \"ipv6\": true to daemon.json")
		}
		return sub, false, nil
	}
	if why := IPv6Status(); why != "" {
		return sub, false, fmt.Errorf("\"ipv6\": true in daemon.json: %s", why)
	}
	if s.cfg.FixedCIDRv6 != "" {
		p, err := netip.ParsePrefix(s.cfg.FixedCIDRv6)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
			return sub, false, fmt.Errorf("invalid fixed-cidr-v6 %q: want an IPv6 prefix, e.g. fd00:1::/64", s.cfg.FixedCIDRv6)
		}
		return p.Masked(), true, nil
	}
	if cur != nil && cur.rec.Subnet6.IsValid() {
		return cur.rec.Subnet6, true, nil
	}
	p, err := ipam.RandomULA(s.usedSubnets6())
	return p, err == nil, err
}

// allocate6Locked gives an endpoint on an IPv6 network its IPv6 address:
// the fixed --ip6 or the next free one. A fixed --ip6 needs a network whose
// IPv6 subnet was given (Docker's rule). Caller holds s.mu.
func (s *Service) allocate6Locked(n *netState, ep *endpointRecord) error {
	var fixed netip.Addr
	if ep.IPAMConfig != nil {
		fixed = ep.IPAMConfig.IPv6Address
	}
	if n.pool6 == nil {
		if fixed.IsValid() {
			return errdefs.Invalid("user specified IP address %s is IPv6 but network %s does not have IPv6 enabled", fixed, n.rec.Name)
		}
		return nil
	}
	if fixed.IsValid() {
		if !n.rec.UserSubnet6 {
			return errdefs.Invalid("user specified IP address is supported only when connecting to networks with user configured subnets")
		}
		if err := n.pool6.Reserve(fixed); err != nil {
			if errors.Is(err, ipam.ErrInUse) {
				return errdefs.Conflict("Address already in use")
			}
			return errdefs.Invalid("%s", err.Error())
		}
		ep.IPv6 = fixed
	} else {
		ip, err := n.pool6.Allocate()
		if err != nil {
			return errdefs.Unavailable("%s", err.Error())
		}
		ep.IPv6 = ip
	}
	ep.IPv6PrefixLen, ep.IPv6Gateway = n.rec.Subnet6.Bits(), n.rec.Gateway6
	return nil
}

// checkPublish6 refuses a port published on an IPv6 host address where it
// cannot work, instead of accepting and ignoring it.
func checkPublish6(n *netState, sp portSpec) error {
	if !sp.HostIP.Is6() {
		return nil
	}
	if n.pool6 == nil {
		return errdefs.Invalid("cannot publish port %s on IPv6 address %s: network %s does not have IPv6 enabled (create it with --ipv6, or publish on an IPv4 address)", sp.Port, sp.HostIP, n.rec.Name)
	}
	if sp.HostIP.IsLoopback() {
		// IPv6 has no route_localnet: a connection from ::1 cannot be
		// forwarded to a container, and Berth runs no userland proxy.
		return errdefs.Invalid("cannot publish port %s on ::1: IPv6 loopback cannot be forwarded to a container without a userland proxy, which berthd does not run; publish on [::] or another host IPv6 address", sp.Port)
	}
	return nil
}
