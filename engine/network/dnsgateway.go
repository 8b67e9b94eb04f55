package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"syscall"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// Sandboxed containers (gVisor's runsc with --network=sandbox) run their own
// network stack: 127.0.0.11 inside them is the sandbox's loopback, not the
// container netns's kernel loopback where the per-container resolver
// listens. They are given the gateway address of their first user network as
// nameserver instead, and berthd answers there, in the host's namespace:
//   - one listener per user network that has a sandboxed member, opened
//     when the first such member connects and closed with the last;
//   - bound to the gateway address AND to the bridge device
//     (SO_BINDTODEVICE), so a packet addressed to the gateway that arrives
//     on another bridge or from outside the host is not delivered to it;
//   - answering only sources that are endpoints of that network; anything
//     else gets REFUSED, so the resolver and its forwarding serve no one else.
//
// runsc's --network=host would instead hand the sandbox the netns's kernel
// sockets (127.0.0.11 would work unchanged) but gives up gVisor's own
// network stack, the point of the sandbox.

// gatewayDNS is the embedded DNS on one network's gateway address.
type gatewayDNS struct {
	addr string // "gateway:53", for logs
	srv  *dnsServer
}

// dnsNetworkLocked is the user network whose gateway serves a sandboxed
// container's DNS: its first user-network endpoint with an IPv4 gateway.
// Caller holds s.mu.
func (s *Service) dnsNetworkLocked(sb *sandbox) (*netState, netip.Addr, bool) {
	if !sb.rec.Sandboxed {
		return nil, netip.Addr{}, false
	}
	for _, ep := range sb.rec.Endpoints {
		n := s.nets[ep.NetworkID]
		if n == nil || n.rec.Driver != "bridge" || n.rec.Predefined || !ep.Gateway.Is4() || !ep.IP.IsValid() {
			continue
		}
		return n, ep.Gateway, true
	}
	return nil, netip.Addr{}, false
}

// syncGatewayDNSLocked opens a gateway listener for every network that
// serves a sandboxed container's DNS and closes the others. Caller holds
// s.mu. Errors name the networks whose listener could not be opened.
func (s *Service) syncGatewayDNSLocked() error {
	want := map[string]netip.Addr{}
	for _, sb := range s.sandboxes {
		if n, gw, ok := s.dnsNetworkLocked(sb); ok {
			want[n.rec.ID] = gw
		}
	}
	for id, g := range s.gwDNS {
		if _, ok := want[id]; !ok {
			g.srv.Close()
			delete(s.gwDNS, id)
		}
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var errs []error
	for _, id := range ids {
		if s.gwDNS[id] != nil {
			continue
		}
		n := s.nets[id]
		c, err := listenGatewayDNS(n.rec.Bridge, want[id])
		if err != nil {
			errs = append(errs, fmt.Errorf("embedded DNS for sandboxed containers on network %s: %w", n.rec.Name, err))
			continue
		}
		nid := id
		h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { s.serveGatewayDNS(nid, w, r) })
		s.gwDNS[id] = &gatewayDNS{addr: net.JoinHostPort(want[id].String(), "53"), srv: serveDNSOn(c, h)}
	}
	return errors.Join(errs...)
}

// serveGatewayDNS answers a query that reached network nid's gateway: as
// the embedded DNS of the endpoint that sent it, or REFUSED when the
// source is no endpoint of that network.
func (s *Service) serveGatewayDNS(nid string, w dns.ResponseWriter, r *dns.Msg) {
	var src netip.Addr
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		src, _ = netip.AddrFromSlice(a.IP)
	case *net.TCPAddr:
		src, _ = netip.AddrFromSlice(a.IP)
	}
	cid := s.dns.Load().member(nid, src.Unmap())
	if cid == "" {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeRefused)
		w.WriteMsg(m)
		return
	}
	s.serveDNS(cid, w, r)
}

// listenGatewayDNS opens UDP and TCP port 53 on gw, bound to the bridge.
func listenGatewayDNS(bridge string, gw netip.Addr) (*dnsSockets, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, bridge)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	addr := net.JoinHostPort(gw.String(), "53")
	u, err := lc.ListenPacket(context.Background(), "udp4", addr)
	if err != nil {
		return nil, err
	}
	l, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		u.Close()
		return nil, err
	}
	return &dnsSockets{udp: u, tcp: l}, nil
}
