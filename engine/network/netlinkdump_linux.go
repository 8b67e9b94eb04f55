package network

import (
	"errors"

	"github.com/vishvananda/netlink"
)

// The kernel marks a netlink dump "interrupted" when the set it lists
// (addresses, links, routes) changed while it was being read; the library
// then returns what it read with netlink.ErrDumpInterrupted. Another process
// adding or removing an interface at that instant is ordinary on a busy
// host, so the listing is simply taken again; only a persistent interruption
// is an error.
const dumpRetries = 10

func retryDump[T any](list func() ([]T, error)) ([]T, error) {
	var out []T
	var err error
	for i := 0; i < dumpRetries; i++ {
		out, err = list()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return out, err
}

func addrList(link netlink.Link, family int) ([]netlink.Addr, error) {
	return retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(link, family) })
}

func routeList(family int) ([]netlink.Route, error) {
	return retryDump(func() ([]netlink.Route, error) { return netlink.RouteList(nil, family) })
}

func linkList() ([]netlink.Link, error) {
	return retryDump(netlink.LinkList)
}
