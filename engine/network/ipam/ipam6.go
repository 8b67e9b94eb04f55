package ipam

import (
	"crypto/rand"
	"fmt"
	"net/netip"
)

// Pool6 is the allocation state of one IPv6 subnet. Addresses are handed
// out in order from the range (as Docker's IPAM does), never the subnet's
// first address (the subnet-router anycast address) or the gateway. Not
// safe for concurrent use.
type Pool6 struct {
	Subnet  netip.Prefix
	Range   netip.Prefix
	Gateway netip.Addr

	used map[netip.Addr]struct{}
	next netip.Addr
}

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
	p := &Pool6{Subnet: subnet, Range: iprange, Gateway: gateway, used: map[netip.Addr]struct{}{gateway: {}}, next: iprange.Addr()}
	return p, nil
}

func (p *Pool6) usable(a netip.Addr) bool {
	return p.Subnet.Contains(a) && a != p.Subnet.Addr()
}

// Allocate returns the next free address of the range, after the previous
// allocation and wrapping at the end. At most len(used)+2 candidates are
// looked at, so a /64 costs no more than a /120.
func (p *Pool6) Allocate() (netip.Addr, error) {
	a := p.next
	if !p.Range.Contains(a) {
		a = p.Range.Addr()
	}
	for i := 0; i <= len(p.used)+1; i++ {
		if _, taken := p.used[a]; !taken && p.usable(a) {
			p.used[a] = struct{}{}
			p.next = a.Next()
			return a, nil
		}
		a = a.Next()
		if !a.IsValid() || !p.Range.Contains(a) {
			a = p.Range.Addr()
		}
	}
	return netip.Addr{}, fmt.Errorf("no available IPv6 addresses on this network's address pools")
}

// Reserve marks addr allocated (a fixed --ip6, or a recorded allocation).
func (p *Pool6) Reserve(addr netip.Addr) error {
	if !p.usable(addr) {
		return fmt.Errorf("invalid address %s: it does not belong to any of this network's subnets (%s)", addr, p.Subnet)
	}
	if _, taken := p.used[addr]; taken {
		return ErrInUse
	}
	p.used[addr] = struct{}{}
	return nil
}

// Release frees addr; the gateway stays.
func (p *Pool6) Release(addr netip.Addr) {
	if addr != p.Gateway {
		delete(p.used, addr)
	}
}

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
