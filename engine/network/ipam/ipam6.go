package ipam

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
)

// Pool6 is the allocation state of one IPv6 subnet. Addresses are handed
// out in order from the range (as Docker's IPAM does), never the subnet's
// first address (the subnet-router anycast address) or the gateway. Not
// safe for concurrent use.
type Pool6 struct{ addrPool }

// ErrExhausted6 is returned by Pool6.Allocate when every address of the
// range is taken.
var ErrExhausted6 = errors.New("no available IPv6 addresses on this network's address pools")

// NewPool6 returns the pool for an IPv6 subnet (at most a /126),
// allocating dynamically from iprange (zero: the whole subnet). A zero
// gateway means the subnet's first host address (::1 of the subnet).
func NewPool6(subnet, iprange netip.Prefix, gateway netip.Addr) (*Pool6, error) {
	if !subnet.IsValid() || !subnet.Addr().Is6() || subnet.Addr().Is4In6() {
		return nil, fmt.Errorf("invalid IPv6 subnet %s", subnet)
	}
	if subnet != subnet.Masked() {
		return nil, fmt.Errorf("invalid subnet %s: it should be %s", subnet, subnet.Masked())
	}
	if subnet.Bits() > 126 {
		return nil, fmt.Errorf("subnet %s is too small: use a /126 or larger", subnet)
	}
	if !iprange.IsValid() {
		iprange = subnet
	}
	if !iprange.Addr().Is6() || iprange.Bits() < subnet.Bits() || !subnet.Contains(iprange.Addr()) {
		return nil, fmt.Errorf("invalid pool request: ip-range %s is not contained in subnet %s", iprange, subnet)
	}
	iprange = iprange.Masked()
	if !gateway.IsValid() {
		gateway = subnet.Addr().Next()
	} else if !subnet.Contains(gateway) || gateway == subnet.Addr() {
		return nil, fmt.Errorf("invalid gateway %s: not a host address of subnet %s", gateway, subnet)
	}
	return &Pool6{newAddrPool(subnet, iprange, gateway, netip.Addr{})}, nil
}

// Allocate returns the next free address of the range, after the previous
// allocation and wrapping at the end.
func (p *Pool6) Allocate() (netip.Addr, error) { return p.allocate(ErrExhausted6) }

// RandomULA returns a random /64 in fd00::/8 (RFC 4193's locally assigned
// unique local addresses) that overlaps none of used; Docker allocates
// networks without an IPv6 subnet from the same space.
func RandomULA(used []netip.Prefix) (netip.Prefix, error) {
	for i := 0; i < 64; i++ {
		var b [16]byte
		if _, err := rand.Read(b[1:8]); err != nil {
			return netip.Prefix{}, err
		}
		b[0] = 0xfd
		p := netip.PrefixFrom(netip.AddrFrom16(b), 64)
		clash := false
		for _, u := range used {
			if u.Overlaps(p) {
				clash = true
				break
			}
		}
		if !clash {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("could not find an available, non-overlapping IPv6 address pool to assign to the network")
}
