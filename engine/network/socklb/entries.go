// Package socklb lets the host reach published ports without per-packet
// NAT: a cgroup connect4 program rewrites a TCP connect from the host's
// network namespace to a published 127.0.0.0/8 address into a connect to
// the container's address, so the connection never crosses the nat table
// (Cilium's "socket LB"). A getpeername4 program gives the client back the
// address it asked for. The iptables DNAT rules stay as they are and serve
// everything the programs leave alone: other destinations, UDP, SCTP,
// IPv6, containers, other hosts, and every connection while berthd is not
// running (the programs are held by BPF links that close with berthd).
package socklb

import (
	"encoding/binary"
	"net/netip"
	"sort"

	"github.com/berth-dev/berth/engine/network/iptables"
)

// ipprotoTCP is the only protocol the programs redirect.
const ipprotoTCP = 6

// key is a published address as the connect4 program looks it up: IP and
// port in network byte order as they sit in struct bpf_sock_addr (IP
// 0.0.0.0 = every loopback address), then the IP protocol.
type key struct {
	IP    [4]byte
	Port  [2]byte
	Proto uint8
	_     uint8
}

// value is where a key's connections go, in network byte order.
type value struct {
	IP   [4]byte
	Port [2]byte
	_    [2]byte
}

func be16(p uint16) (b [2]byte) {
	binary.BigEndian.PutUint16(b[:], p)
	return b
}

// entries renders the map from the published ports (the same list the
// DNAT rules are rendered from). Only what a connect to 127.0.0.0/8 may
// reach under the DNAT rules' semantics is kept: a port published on every
// address (HostIP unset or 0.0.0.0) or on a loopback address. A port
// published on another address is not reachable through loopback, so it
// has no entry and stays with DNAT.
func entries(ports []iptables.Port) map[key]value {
	ports = append([]iptables.Port(nil), ports...)
	// Stable choice should two ports ever claim one key.
	sort.Slice(ports, func(i, j int) bool { return ports[i].ContainerIP.Less(ports[j].ContainerIP) })
	out := map[key]value{}
	for _, p := range ports {
		k, ok := keyOf(p)
		if !ok || !p.ContainerIP.Is4() {
			continue
		}
		if _, dup := out[k]; dup {
			continue
		}
		out[k] = value{IP: p.ContainerIP.As4(), Port: be16(p.ContainerPort)}
	}
	return out
}

func keyOf(p iptables.Port) (key, bool) {
	if p.Proto != "tcp" {
		return key{}, false
	}
	ip := p.HostIP.Unmap()
	switch {
	case !ip.IsValid() || ip == netip.IPv4Unspecified():
		ip = netip.IPv4Unspecified()
	case ip.Is4() && ip.IsLoopback():
	default:
		return key{}, false
	}
	return key{IP: ip.As4(), Port: be16(p.HostPort), Proto: ipprotoTCP}, true
}
