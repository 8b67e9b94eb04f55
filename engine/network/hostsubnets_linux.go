package network

import "net/netip"

// HostSubnets lists the IPv4 subnets the host routes (its interfaces'
// subnets and its routes, the default route aside): what the IPAM avoids
// when it picks a subnet for a new network. Tests use it to pick subnets
// that are free on the machine they run on.
func HostSubnets() []netip.Prefix { return hostRoutes("") }
