package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureBridge creates the network's Linux bridge if missing and makes sure
// it is up with the gateway address. route_localnet lets connections from
// 127.0.0.1 that were DNATed to a container leave through the bridge (they
// are masqueraded there), which is how published ports answer on loopback
// without a proxy.
func ensureBridge(r *netRecord) error {
	link, err := netlink.LinkByName(r.Bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("look up bridge %s: %w", r.Bridge, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.NewLinkAttrs()}
		br.Name, br.MTU = r.Bridge, r.MTU
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create bridge %s: %w", r.Bridge, err)
		}
		if link, err = netlink.LinkByName(r.Bridge); err != nil {
			return fmt.Errorf("look up bridge %s: %w", r.Bridge, err)
		}
	} else if link.Type() != "bridge" {
		return fmt.Errorf("interface %s exists and is not a bridge: choose another bridge name", r.Bridge)
	}
	want := &net.IPNet{IP: r.Gateway.AsSlice(), Mask: net.CIDRMask(r.Subnet.Bits(), 32)}
	addrs, err := addrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", r.Bridge, err)
	}
	have := false
	for _, a := range addrs {
		if a.IPNet.String() == want.String() {
			have = true
			continue
		}
		// A stale address from an earlier configuration.
		netlink.AddrDel(link, &a)
	}
	if !have {
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: want}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add %s to bridge %s: %w", want, r.Bridge, err)
		}
	}
	if err := ensureBridge6(r, link); err != nil {
		return err
	}
	if link.Attrs().MTU != r.MTU {
		netlink.LinkSetMTU(link, r.MTU)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up bridge %s: %w", r.Bridge, err)
	}
	os.WriteFile("/proc/sys/net/ipv4/conf/"+r.Bridge+"/route_localnet", []byte("1\n"), 0o644)
	return nil
}

// deleteBridge removes a bridge; a missing one is not an error.
func deleteBridge(name string) error {
	if name == "" {
		return nil
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		return nil
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}

// hostRoutes lists the IPv4 subnets routed on the host (interface
// addresses' subnets and routes), other than those of the bridge named
// except, so new networks avoid them.
func hostRoutes(except string) []netip.Prefix {
	var out []netip.Prefix
	skip := -1
	if except != "" {
		if l, err := netlink.LinkByName(except); err == nil {
			skip = l.Attrs().Index
		}
	}
	routes, _ := routeList(netlink.FAMILY_V4)
	for _, r := range routes {
		if r.Dst == nil || r.LinkIndex == skip {
			continue
		}
		if p, ok := prefixOf(r.Dst); ok && p.Bits() > 0 {
			out = append(out, p)
		}
	}
	return out
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP.To4())
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a, ones).Masked(), true
}
