package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// linkSpec is one container interface to create.
type linkSpec struct {
	IfName, HostVeth string
	MAC              net.HardwareAddr
	MTU              int
	Addr             netip.Prefix // address/prefix length
	Gateway          netip.Addr
	DefaultRoute     bool
	// Addr6 and Gateway6 are set on IPv6 networks.
	Addr6    netip.Prefix
	Gateway6 netip.Addr
}

// withHandle runs fn with one netlink socket in the calling thread's
// namespace, for all its requests: the package's functions open, bind and
// close a socket for each one (five system calls a request).
func withHandle(fn func(h *netlink.Handle) error) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open a netlink socket: %w", err)
	}
	defer h.Close()
	return fn(h)
}

// prepareNetNS readies a new container netns from inside it: loopback up,
// and ports below 1024 open to any user in it, as Docker sets
// net.ipv4.ip_unprivileged_port_start=0 for every container with its own
// network namespace: a user-namespaced root (userns-remap) has no
// CAP_NET_BIND_SERVICE over a netns berthd made, and could not serve on
// port 80 otherwise.
//
// Interfaces made in it later start with IPv6 off, as Docker leaves the
// interfaces of networks without IPv6: no link-local address, so no DAD,
// MLD reports or router solicitations the host's kernel threads handle
// for every container started. An endpoint on an IPv6 network turns it on
// for its interface (setupInside6); loopback, up already, keeps ::1.
// --sysctl still overrides either (the runtime writes later).
func prepareNetNS(h *netlink.Handle) error {
	if err := loUp(h); err != nil {
		return err
	}
	// Best effort: missing where the kernel has IPv6 off, which needs nothing.
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", []byte("1\n"), 0o644)
	return os.WriteFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", []byte("0\n"), 0o644)
}

// loUp brings up loopback. Runs inside the container's netns, where
// loopback is always interface 1 (LOOPBACK_IFINDEX): no lookup by name.
func loUp(h *netlink.Handle) error {
	lo := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1, Name: "lo"}}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring up loopback: %w", err)
	}
	return nil
}

// setupInside creates the veth pair from inside the container's netns,
// with the peer placed in the host's, and configures the container side:
// address, MAC, up, default route. Runs inside the container's netns.
func setupInside(h *netlink.Handle, host netns.NsHandle, sp linkSpec) error {
	idx, err := addVeth(h, host, sp.IfName, sp.HostVeth, sp.MTU, sp.MAC)
	if err != nil {
		return err
	}
	return configureInside(h, sp, idx, false)
}

// addVeth creates a veth pair from inside a netns: ifName (down, with mac
// unless nil) stays there, its peer hostVeth goes to the host's netns. It
// returns ifName's index (0 if the kernel's reply did not give it).
//
// Both ends get one queue each way, named in the request. Without them
// the kernel gives a veth one queue per CPU and then, the device being
// registered, cuts it to one in use, waiting twice (once per end) for an
// expedited RCU grace period while holding the RTNL lock: milliseconds
// per pair on which every other netlink change on the host queued, the
// veths of containers started together included. One in use is what the
// kernel leaves either way.
func addVeth(h *netlink.Handle, host netns.NsHandle, ifName, hostVeth string, mtu int, mac net.HardwareAddr) (int, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.HardwareAddr = ifName, mtu, mac
	attrs.NumTxQueues, attrs.NumRxQueues = 1, 1 // the peer's too (see LinkAdd)
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: hostVeth, PeerNamespace: netlink.NsFd(int(host)), PeerMTU: uint32(mtu)}
	if err := h.LinkAdd(veth); err != nil {
		return 0, fmt.Errorf("create veth pair %s/%s: %w", hostVeth, ifName, err)
	}
	return veth.Index, nil // LinkAdd looked it up
}

// configureInside gives the container's end of a veth its address (and
// MAC when setMAC: a prepared veth has a random one), brings it up and
// adds the default route. index is the interface's, when known (else it
// is looked up by name). Runs inside the container's netns.
func configureInside(h *netlink.Handle, sp linkSpec, index int, setMAC bool) error {
	var link netlink.Link = &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Index: index, Name: sp.IfName}}
	if index <= 0 {
		var err error
		if link, err = h.LinkByName(sp.IfName); err != nil {
			return fmt.Errorf("find %s in the container: %w", sp.IfName, err)
		}
	}
	if setMAC {
		if err := h.LinkSetHardwareAddr(link, sp.MAC); err != nil {
			return fmt.Errorf("set the MAC address of %s: %w", sp.IfName, err)
		}
	}
	ipnet := &net.IPNet{IP: sp.Addr.Addr().AsSlice(), Mask: net.CIDRMask(sp.Addr.Bits(), 32)}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipnet}); err != nil {
		return fmt.Errorf("add %s to %s: %w", sp.Addr, sp.IfName, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up %s: %w", sp.IfName, err)
	}
	if sp.DefaultRoute {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: sp.Gateway.AsSlice()}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("add default route via %s: %w", sp.Gateway, err)
		}
	}
	return setupInside6(h, link, sp)
}

// addrGenModeNone is IN6_ADDR_GEN_MODE_NONE: no link-local address.
const addrGenModeNone = 1

// attachHostSide enslaves the host end of a veth to the bridge, with
// hairpin mode (a container may reach its own published port), and brings
// it up. vethIndex is the host end's index, when known (else it is looked
// up by name). Runs in the host's netns.
func attachHostSide(h *netlink.Handle, hostVeth string, vethIndex, bridgeIndex int) error {
	var link netlink.Link = &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Index: vethIndex, Name: hostVeth}}
	if vethIndex <= 0 {
		var err error
		if link, err = h.LinkByName(hostVeth); err != nil {
			return fmt.Errorf("find %s: %w", hostVeth, err)
		}
	}
	if err := h.LinkSetMasterByIndex(link, bridgeIndex); err != nil {
		return fmt.Errorf("attach %s to the bridge: %w", hostVeth, err)
	}
	if err := h.LinkSetHairpin(link, true); err != nil {
		return fmt.Errorf("set hairpin mode on %s: %w", hostVeth, err)
	}
	// A bridge port needs no IPv6 address of its own: without one the
	// kernel runs no DAD or MLD for it, and the host sees no address
	// appear per container (programs watching addresses, e.g. browsers,
	// fail their requests in flight on every such change). Best effort:
	// refused where IPv6 is off, which needs nothing.
	_ = h.LinkSetIP6AddrGenMode(link, addrGenModeNone)
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up %s: %w", hostVeth, err)
	}
	return nil
}

// deleteLink removes a host interface (a veth's host end takes its peer
// with it); missing is fine.
func deleteLink(name string) error {
	_, err := deleteLinkIfThere(name)
	return err
}

// deleteLinkIfThere is deleteLink, reporting whether it deleted one.
func deleteLinkIfThere(name string) (bool, error) {
	if name == "" {
		return false, nil
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		return false, nil
	}
	if err := netlink.LinkDel(link); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return false, nil
		}
		return false, fmt.Errorf("delete %s: %w", name, err)
	}
	return true, nil
}

// bridgeIndex returns the interface index of a bridge, asked over h
// (&netlink.Handle{}: a socket per request, as the package's functions).
func bridgeIndex(h *netlink.Handle, name string) (int, error) {
	l, err := h.LinkByName(name)
	if err != nil {
		return 0, fmt.Errorf("bridge %s is missing: %w (restart berthd to recreate it)", name, err)
	}
	return l.Attrs().Index, nil
}

// staleVeths lists host interfaces enslaved to one of the bridges whose
// names are not in keep.
func staleVeths(bridges []string, keep map[string]bool) []string {
	idx := map[int]bool{}
	for _, b := range bridges {
		if i, err := bridgeIndex(&netlink.Handle{}, b); err == nil {
			idx[i] = true
		}
	}
	links, _ := linkList()
	var out []string
	for _, l := range links {
		a := l.Attrs()
		if idx[a.MasterIndex] && l.Type() == "veth" && !keep[a.Name] {
			out = append(out, a.Name)
		}
	}
	return out
}
