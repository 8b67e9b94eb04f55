package network

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/netip"
	"sort"
	"sync/atomic"

	"github.com/moby/moby/api/types/network"
)

// Endpoint is a container's settings on one network, as inspect shows them.
type Endpoint = network.EndpointSettings

// ConnectRequest is what Connect needs from a container's configuration.
type ConnectRequest struct {
	ContainerID, ContainerName, Hostname string
	// NetworkMode: "bridge" (or "" / "default"), "none", "host", a user
	// network's name or ID, or "container:<id>" of a connected container.
	NetworkMode string
	// Endpoints from NetworkingConfig, keyed by network name or ID: aliases,
	// IPAMConfig.IPv4Address (--ip), MacAddress. Entries for networks other
	// than NetworkMode's are connected too (API >= 1.44 allows several).
	Endpoints    map[string]*network.EndpointSettings
	PortBindings network.PortMap
	// Sandboxed: the container runs its own network stack (gVisor's runsc),
	// so the embedded DNS answers it on its network's gateway address
	// instead of 127.0.0.11 (see dnsgateway.go).
	Sandboxed    bool
	PublishAll   bool
	ExposedPorts network.PortSet
	MacAddress   string
}

// Attachment is a container's network as the runtime and inspect need it.
// Each call returns a fresh copy the caller may keep or modify.
type Attachment struct {
	// NetNSPath is the bind-mounted netns for the OCI spec ("" for host mode;
	// for "none", a netns with only lo up).
	NetNSPath string
	// Networks as inspect shows them, keyed by network name.
	Networks map[string]*network.EndpointSettings
	// Ports are the published ports with the host ports actually chosen;
	// exposed but unpublished ports map to nil, as in Docker.
	Ports network.PortMap
	// HostsEntries are lines to add to /etc/hosts ("172.17.0.2\t<hostname>").
	HostsEntries []string
	// Nameservers: ["127.0.0.11"] when the embedded DNS serves the container
	// (user networks; write "options ndots:0" as Docker does); nil means the
	// host's resolvers.
	Nameservers []string
	SandboxKey  string
}

// endpointRecord is one container endpoint on one network.
type endpointRecord struct {
	NetworkID, EndpointID string
	IP                    netip.Addr
	PrefixLen             int
	Gateway               netip.Addr
	// IPv6 fields are set on networks with IPv6 enabled.
	IPv6              netip.Addr
	IPv6PrefixLen     int
	IPv6Gateway       netip.Addr
	MAC               string
	HostVeth, IfName  string
	Aliases, DNSNames []string
	Links             []string
	IPAMConfig        *network.EndpointIPAMConfig
	DriverOpts        map[string]string
}

// portRecord is one published port with the host port actually bound.
type portRecord struct {
	NetworkID     string
	Proto         string
	HostIP        netip.Addr
	HostPort      uint16
	ContainerPort uint16
}

// sandboxRecord is a connected container, as stored in bbolt.
type sandboxRecord struct {
	ContainerID, Name, Hostname string
	Mode                        string // bridge (any bridge network), host, none
	NetNS                       string
	Endpoints                   []*endpointRecord // the first is the primary one (default route, ports)
	Ports                       []portRecord
	Exposed                     []string // exposed container ports without a binding
	Sandboxed                   bool     // runs its own network stack (see ConnectRequest)
}

// sandbox is a connected container's live state.
type sandbox struct {
	rec          sandboxRecord
	dns          *dnsServer
	reservations []io.Closer // bound host ports, so nothing else takes them
	// gone is set once the sandbox is disconnected (s.mu held): from then
	// on a deferred commit of its record (ConnectDeferred) writes nothing.
	gone atomic.Bool
}

// macFromIP derives a MAC from an IPv4 address as Docker does: 02:42
// followed by the four address bytes (172.17.0.2 -> 02:42:ac:11:00:02).
func macFromIP(ip netip.Addr) net.HardwareAddr {
	a := ip.As4()
	return net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}
}

// vethName returns a random host-side veth name in Docker's style.
func vethName() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "veth" + hex.EncodeToString(b)[:7]
}

// attachment renders a sandbox for the container service. Caller holds s.mu.
func (s *Service) attachmentLocked(sb *sandbox) *Attachment {
	a := &Attachment{NetNSPath: sb.rec.NetNS, SandboxKey: sb.rec.NetNS, Networks: map[string]*network.EndpointSettings{}, Ports: network.PortMap{}}
	userNet := false
	for i, ep := range sb.rec.Endpoints {
		n := s.nets[ep.NetworkID]
		if n == nil {
			continue
		}
		es := &network.EndpointSettings{
			IPAMConfig: ep.IPAMConfig.Copy(), Links: append([]string(nil), ep.Links...),
			Aliases: append([]string(nil), ep.Aliases...), DriverOpts: ep.DriverOpts,
			NetworkID: ep.NetworkID, EndpointID: ep.EndpointID,
			Gateway: ep.Gateway, IPAddress: ep.IP, IPPrefixLen: ep.PrefixLen,
			DNSNames: append([]string(nil), ep.DNSNames...),
		}
		if ep.IPv6.IsValid() {
			es.GlobalIPv6Address, es.GlobalIPv6PrefixLen, es.IPv6Gateway = ep.IPv6, ep.IPv6PrefixLen, ep.IPv6Gateway
		}
		if ep.MAC != "" {
			if hw, err := net.ParseMAC(ep.MAC); err == nil {
				es.MacAddress = network.HardwareAddr(hw)
			}
		}
		a.Networks[n.rec.Name] = es
		if n.rec.Driver == "bridge" && !n.rec.Predefined {
			userNet = true
		}
		if i == 0 && ep.IP.IsValid() {
			hn := sb.rec.Hostname
			if hn == "" {
				hn = shortID(sb.rec.ContainerID)
			}
			a.HostsEntries = append(a.HostsEntries, ep.IP.String()+"\t"+hn)
			if ep.IPv6.IsValid() {
				a.HostsEntries = append(a.HostsEntries, ep.IPv6.String()+"\t"+hn)
			}
		}
	}
	for _, e := range sb.rec.Exposed {
		if p, err := network.ParsePort(e); err == nil {
			a.Ports[p] = nil
		}
	}
	for _, pr := range sb.rec.Ports {
		p, ok := network.PortFrom(pr.ContainerPort, network.IPProtocol(pr.Proto))
		if !ok {
			continue
		}
		a.Ports[p] = append(a.Ports[p], network.PortBinding{HostIP: pr.HostIP, HostPort: itoa(int(pr.HostPort))})
	}
	for _, b := range a.Ports {
		sort.Slice(b, func(i, j int) bool { return b[i].HostPort < b[j].HostPort })
	}
	if _, gw, ok := s.dnsNetworkLocked(sb); ok {
		a.Nameservers = []string{gw.String()}
	} else if userNet {
		a.Nameservers = []string{dnsAddr}
	}
	return a
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
