package ipam

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
)

// ErrExhausted is returned by Allocate when every address of the range is taken.
var ErrExhausted = errors.New("no available IPv4 addresses on this network's address pools")

// ErrInUse is returned by Reserve for an address that is already allocated.
var ErrInUse = errors.New("Address already in use")

// Pool is the allocation state of one IPv4 subnet. Not safe for concurrent
// use; the network service serialises calls.
type Pool struct{ addrPool }

// NewPool returns the pool for subnet, allocating dynamically from iprange
// (zero value: the whole subnet). gateway, if valid, is reserved; if zero the
// first host address is the gateway.
func NewPool(subnet, iprange netip.Prefix, gateway netip.Addr) (*Pool, error) {
	if !subnet.IsValid() || !subnet.Addr().Is4() {
		return nil, fmt.Errorf("invalid subnet %s: only IPv4 subnets are supported", subnet)
	}
	subnet = subnet.Masked()
	if subnet.Bits() > 30 {
		return nil, fmt.Errorf("subnet %s is too small: use a /30 or larger", subnet)
	}
	if !iprange.IsValid() {
		iprange = subnet
	}
	iprange = iprange.Masked()
	if iprange.Bits() < subnet.Bits() || !subnet.Contains(iprange.Addr()) {
		return nil, fmt.Errorf("invalid pool request: ip-range %s is not contained in subnet %s", iprange, subnet)
	}
	if !gateway.IsValid() {
		gateway = subnet.Addr().Next()
	} else if !subnet.Contains(gateway) {
		return nil, fmt.Errorf("invalid gateway %s: not in subnet %s", gateway, subnet)
	}
	return &Pool{newAddrPool(subnet, iprange, gateway, lastAddr(subnet))}, nil
}

// Broadcast returns the last address of the subnet.
func (p *Pool) Broadcast() netip.Addr { return lastAddr(p.Subnet) }

func lastAddr(pfx netip.Prefix) netip.Addr {
	a := pfx.Masked().Addr().As4()
	n := new(big.Int).SetBytes(a[:])
	host := new(big.Int).Lsh(big.NewInt(1), uint(32-pfx.Bits()))
	n.Add(n, host.Sub(host, big.NewInt(1)))
	var out [4]byte
	n.FillBytes(out[:])
	return netip.AddrFrom4(out)
}

// Allocate returns a free address from the range, searching round robin from
// just after the previous allocation.
func (p *Pool) Allocate() (netip.Addr, error) { return p.allocate(ErrExhausted) }

// Overlaps reports whether two prefixes share any address.
func Overlaps(a, b netip.Prefix) bool {
	return a.Overlaps(b)
}

// Split returns the n-th subnet of size bits inside base (Docker's
// default-address-pools {base, size}), and false when n is past the end.
func Split(base netip.Prefix, size, n int) (netip.Prefix, bool) {
	base = base.Masked()
	if size < base.Bits() || size > 32 {
		return netip.Prefix{}, false
	}
	count := 1 << uint(size-base.Bits())
	if n < 0 || n >= count {
		return netip.Prefix{}, false
	}
	a := base.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(n) << uint(32-size)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), size), true
}

// reserved are the IPv4 ranges a bridge network must not use: putting one
// on a host bridge (with a gateway address, routes and MASQUERADE) would
// hijack the host's loopback, link-local (cloud metadata services),
// multicast or broadcast traffic.
var reserved = []struct {
	pfx netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (RFC 1122)`},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (RFC 1112), with the broadcast address 255.255.255.255"},
	// IPv6, for when networks get it: the same classes.
	{netip.MustParsePrefix("::/127"), "the unspecified and loopback addresses"},
	{netip.MustParsePrefix("::ffff:0:0/96"), "IPv4-mapped addresses"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// CheckReserved returns an error naming the reserved range pfx overlaps,
// if any. what names the setting in the message ("subnet", "bip", ...).
func CheckReserved(what string, pfx netip.Prefix) error {
	p := pfx.Masked()
	for _, r := range reserved {
		if p.Overlaps(r.pfx) {
			return fmt.Errorf("invalid %s %s: it overlaps %s, which is reserved for %s and cannot be used by a network", what, pfx, r.pfx, r.why)
		}
	}
	return nil
}
