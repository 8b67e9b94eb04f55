package api

import (
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// inspectResponse is a container's inspect in the API 1.47 shape: newer
// API types dropped the top-level NetworkSettings fields (IPAddress,
// Gateway, MacAddress, ...) that 1.47 clients and scripts still read.
type inspectResponse struct {
	*container.InspectResponse
	NetworkSettings *networkSettings147
}

type networkSettings147 struct {
	Bridge                 string
	SandboxID              string
	SandboxKey             string
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	Ports                  network.PortMap
	SecondaryIPAddresses   []any
	SecondaryIPv6Addresses []any
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
	Networks               map[string]*network.EndpointSettings
}

func addrString(a interface {
	IsValid() bool
	String() string
}) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// legacyInspect fills the 1.47 top-level network fields from the default
// bridge network's endpoint, as Docker does.
func legacyInspect(c *container.InspectResponse) *inspectResponse {
	out := &inspectResponse{InspectResponse: c}
	ns := c.NetworkSettings
	if ns == nil {
		return out
	}
	l := &networkSettings147{SandboxID: ns.SandboxID, SandboxKey: ns.SandboxKey, Ports: ns.Ports, Networks: ns.Networks}
	if ep, ok := ns.Networks["bridge"]; ok && ep != nil {
		l.EndpointID = ep.EndpointID
		l.Gateway = addrString(ep.Gateway)
		l.IPAddress = addrString(ep.IPAddress)
		l.IPPrefixLen = ep.IPPrefixLen
		l.IPv6Gateway = addrString(ep.IPv6Gateway)
		l.GlobalIPv6Address = addrString(ep.GlobalIPv6Address)
		l.GlobalIPv6PrefixLen = ep.GlobalIPv6PrefixLen
		l.MacAddress = ep.MacAddress.String()
	}
	out.NetworkSettings = l
	return out
}
