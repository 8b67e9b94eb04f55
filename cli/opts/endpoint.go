package opts

import (
	"net/netip"

	"github.com/moby/moby/api/types/network"
)

// EndpointIPAM parses an endpoint's static addresses (--ip/--ip6, compose's
// ipv4_address/ipv6_address); either may be empty, and with both empty the
// result is nil. When one does not parse, bad is the value and is6 says
// which family it was given for, for the caller's own wording.
func EndpointIPAM(ip4, ip6 string) (cfg *network.EndpointIPAMConfig, bad string, is6 bool) {
	if ip4 == "" && ip6 == "" {
		return nil, "", false
	}
	cfg = &network.EndpointIPAMConfig{}
	if ip4 != "" {
		a, err := netip.ParseAddr(ip4)
		if err != nil {
			return nil, ip4, false
		}
		cfg.IPv4Address = a
	}
	if ip6 != "" {
		a, err := netip.ParseAddr(ip6)
		if err != nil {
			return nil, ip6, true
		}
		cfg.IPv6Address = a
	}
	return cfg, "", false
}
