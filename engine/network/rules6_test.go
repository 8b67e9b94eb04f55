package network

import (
	"net/netip"
	"testing"
)

// TestRulesPerFamily: IPv6 rules come only from IPv6 networks and ports
// bound on IPv6 host addresses (to the container's IPv6 address); the IPv4
// rules never see an IPv6 binding.
func TestRulesPerFamily(t *testing.T) {
	a := netip.MustParseAddr
	s := &Service{nets: map[string]*netState{
		"n4": {rec: netRecord{ID: "n4", Driver: "bridge", Bridge: "br4", Subnet: netip.MustParsePrefix("10.9.0.0/24")}},
		"n6": {rec: netRecord{ID: "n6", Driver: "bridge", Bridge: "br6", Subnet: netip.MustParsePrefix("10.9.1.0/24"),
			EnableIPv6: true, Subnet6: netip.MustParsePrefix("fd42:9::/64")}},
		"h": {rec: netRecord{ID: "h", Driver: "host"}},
	}, sandboxes: map[string]*sandbox{
		"c": {rec: sandboxRecord{
			Endpoints: []*endpointRecord{{NetworkID: "n6", IP: a("10.9.1.2"), IPv6: a("fd42:9::2")}},
			Ports: []portRecord{
				{NetworkID: "n6", Proto: "tcp", HostIP: netip.IPv4Unspecified(), HostPort: 8080, ContainerPort: 80},
				{NetworkID: "n6", Proto: "tcp", HostIP: netip.IPv6Unspecified(), HostPort: 8080, ContainerPort: 80},
			},
		}},
	}}
	n6 := s.networkRules6()
	if len(n6) != 1 || n6[0].Bridge != "br6" || n6[0].Subnet.String() != "fd42:9::/64" {
		t.Errorf("networkRules6 = %+v", n6)
	}
	if n4 := s.networkRules(); len(n4) != 2 {
		t.Errorf("networkRules = %+v, want both bridges", n4)
	}
	p6 := s.portRules6()
	if len(p6) != 1 || p6[0].ContainerIP != a("fd42:9::2") || !p6[0].HostIP.Is6() {
		t.Errorf("portRules6 = %+v", p6)
	}
	p4 := s.portRules()
	if len(p4) != 1 || p4[0].ContainerIP != a("10.9.1.2") || !p4[0].HostIP.Is4() {
		t.Errorf("portRules = %+v", p4)
	}
}
