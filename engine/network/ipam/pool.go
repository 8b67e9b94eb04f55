package ipam

import (
	"fmt"
	"net/netip"
)

// addrPool is the allocation state both families share: the subnet, the
// range dynamic allocations come from, the gateway (always in use) and the
// addresses taken. Not safe for concurrent use.
type addrPool struct {
	Subnet  netip.Prefix
	Range   netip.Prefix // addresses Allocate picks from (the subnet unless --ip-range)
	Gateway netip.Addr

	broadcast netip.Addr // never handed out (IPv4's last address; zero for IPv6)
	used      map[netip.Addr]struct{}
	next      netip.Addr // where the next search starts: Docker-like round robin, so a released address is not reused at once
}

func newAddrPool(subnet, iprange netip.Prefix, gateway, broadcast netip.Addr) addrPool {
	return addrPool{
		Subnet: subnet, Range: iprange, Gateway: gateway, broadcast: broadcast,
		used: map[netip.Addr]struct{}{gateway: {}}, next: iprange.Addr(),
	}
}

// usable reports whether addr may be given to an endpoint at all: in the
// subnet, neither its first address nor its broadcast address.
func (p *addrPool) usable(addr netip.Addr) bool {
	return p.Subnet.Contains(addr) && addr != p.Subnet.Addr() && addr != p.broadcast
}

// allocate returns a free address of the range, searching round robin from
// just after the previous allocation, or exhausted. At most len(used)+3
// candidates are looked at (the used ones, the subnet's first and broadcast
// addresses, one free), so a /64 costs no more than a /24.
func (p *addrPool) allocate(exhausted error) (netip.Addr, error) {
	start := p.next
	if !p.Range.Contains(start) {
		start = p.Range.Addr()
	}
	a := start
	for i := 0; i <= len(p.used)+2; i++ {
		if _, taken := p.used[a]; !taken && p.usable(a) {
			p.used[a] = struct{}{}
			p.next = a.Next()
			return a, nil
		}
		if a = a.Next(); !a.IsValid() || !p.Range.Contains(a) {
			a = p.Range.Addr()
		}
		if a == start {
			break
		}
	}
	return netip.Addr{}, exhausted
}

// Reserve marks addr allocated: a fixed --ip/--ip6, or a recorded
// allocation being restored at start. It must be inside the subnet (not
// necessarily the range, as Docker allows --ip outside --ip-range).
func (p *addrPool) Reserve(addr netip.Addr) error {
	if !p.usable(addr) {
		return fmt.Errorf("invalid address %s: it does not belong to any of this network's subnets (%s)", addr, p.Subnet)
	}
	if _, taken := p.used[addr]; taken {
		return ErrInUse
	}
	p.used[addr] = struct{}{}
	return nil
}

// Release frees addr; releasing a free address or the gateway does nothing.
func (p *addrPool) Release(addr netip.Addr) {
	if addr != p.Gateway {
		delete(p.used, addr)
	}
}

// InUse reports whether addr is allocated (the gateway always is).
func (p *addrPool) InUse(addr netip.Addr) bool {
	_, ok := p.used[addr]
	return ok
}
