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

// ensureBridge6 gives an IPv6 network's bridge its IPv6 gateway address
// (without duplicate address detection, so it is usable at once), after
// enabling IPv6 on the bridge; on other networks it removes global IPv6
// addresses left from an earlier configuration.
func ensureBridge6(r *netRecord, link netlink.Link) error {
	if r.EnableIPv6 {
		if err := setDisableIPv6(r.Bridge, false); err != nil {
			return err
		}
	}
	addrs, err := addrList(link, netlink.FAMILY_V6)
	if err != nil {
		return fmt.Errorf("list IPv6 addresses of %s: %w", r.Bridge, err)
	}
	var want *net.IPNet
	if r.EnableIPv6 {
		want = &net.IPNet{IP: r.Gateway6.AsSlice(), Mask: net.CIDRMask(r.Subnet6.Bits(), 128)}
	}
	have := false
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		if want != nil && a.IPNet.String() == want.String() {
			have = true
			continue
		}
		netlink.AddrDel(link, &a)
	}
	if want != nil && !have {
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: want, Flags: unix.IFA_F_NODAD}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add %s to bridge %s: %w", want, r.Bridge, err)
		}
	}
	return nil
}

// setDisableIPv6 writes net.ipv6.conf.<ifname>.disable_ipv6 in the current
// thread's network namespace.
func setDisableIPv6(ifname string, disable bool) error {
	v := "0\n"
	if disable {
		v = "1\n"
	}
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+ifname+"/disable_ipv6", []byte(v), 0o644); err != nil {
		if why := IPv6Status(); why != "" {
			return errors.New(why)
		}
		return fmt.Errorf("enable IPv6 on %s (net.ipv6.conf.%s.disable_ipv6=0): %w", ifname, ifname, err)
	}
	return nil
}

// hostRoutes6 lists the IPv6 subnets routed on the host (not link-local,
// not the default route), so new networks avoid them.
func hostRoutes6() []netip.Prefix {
	var out []netip.Prefix
	routes, _ := routeList(netlink.FAMILY_V6)
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		a, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok || a.IsLinkLocalUnicast() || a.IsMulticast() {
			continue
		}
		ones, bits := r.Dst.Mask.Size()
		if bits != 128 || ones == 0 {
			continue
		}
		out = append(out, netip.PrefixFrom(a, ones).Masked())
	}
	return out
}

// setupInside6 gives a container interface its IPv6 address (no DAD: the
// address is unique by allocation and usable at once) and, on the primary
// network, the IPv6 default route. Runs inside the container's netns.
func setupInside6(h *netlink.Handle, link netlink.Link, sp linkSpec) error {
	if !sp.Addr6.IsValid() {
		return nil
	}
	if err := setDisableIPv6(sp.IfName, false); err != nil {
		return err
	}
	ipnet := &net.IPNet{IP: sp.Addr6.Addr().AsSlice(), Mask: net.CIDRMask(sp.Addr6.Bits(), 128)}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipnet, Flags: unix.IFA_F_NODAD}); err != nil {
		return fmt.Errorf("add %s to %s: %w", sp.Addr6, sp.IfName, err)
	}
	if sp.DefaultRoute {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: sp.Gateway6.AsSlice()}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("add IPv6 default route via %s: %w", sp.Gateway6, err)
		}
	}
	return nil
}
