package network

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/berth-dev/berth/engine/events"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/berth-dev/berth/engine/network/ipam"
	"github.com/berth-dev/berth/engine/network/iptables"
	"github.com/berth-dev/berth/engine/network/socklb"
	"github.com/berth-dev/berth/engine/store"
)

const (
	bucketNetworks  = "networks"
	bucketSandboxes = "network.sandboxes"
)

// Pool is one entry of daemon.json "default-address-pools".
type Pool struct {
	Base string `json:"base"`
	Size int    `json:"size"`
}

// Config is the daemon's network configuration (daemon.json keys).
type Config struct {
	DataRoot, ExecRoot string
	// Bip is daemon.json "bip", the default bridge's gateway address and
	// subnet, e.g. "172.17.0.1/16". "" means 172.17.0.1/16, or the first free
	// default pool when that subnet is already routed on the host (Docker's
	// docker0 usually holds it), so Berth coexists with Docker.
	Bip       string
	FixedCIDR string
	MTU       int
	// DefaultAddressPools feed subnets to networks created without --subnet;
	// nil means Docker's defaults (172.17-31.0.0/16, then 192.168.0.0/16 in /20s).
	DefaultAddressPools []Pool
	// Iptables: manage netfilter rules. IPForward: set net.ipv4.ip_forward=1.
	// The zero Config has both false; callers wanting Docker's defaults set them.
	Iptables  bool
	IPForward bool
	// BridgeName of the default network; "" means "berth0".
	BridgeName string
	// IPv6 is daemon.json "ipv6": IPv6 on the default bridge, with
	// FixedCIDRv6 ("fixed-cidr-v6") as its subnet ("" = a unique local /64).
	IPv6        bool
	FixedCIDRv6 string
	// Ip6tables: manage ip6tables rules for IPv6 networks (daemon.json
	// "ip6tables", default true as in Docker 27; needs Iptables).
	Ip6tables bool
	// ChainPrefix names Berth's iptables chains ("" = "BERTH": BERTH,
	// BERTH-FORWARD, BERTH-ISOLATION-1/2, BERTH-POSTROUTING). Each daemon on a
	// host needs its own; tests use it to stay apart from a running berthd.
	ChainPrefix string
	// NetnsPool is how many network namespaces with a veth pair are kept
	// prepared for bridge endpoints (see pool_linux.go); 0 = none. Filled
	// from Reconcile on.
	NetnsPool int
	// Events receives network create and destroy events (may be nil).
	Events *events.Service
}

// DefaultPools are Docker's default-address-pools.
func DefaultPools() []Pool {
	var p []Pool
	for i := 17; i <= 31; i++ {
		p = append(p, Pool{Base: fmt.Sprintf("172.%d.0.0/16", i), Size: 16})
	}
	return append(p, Pool{Base: "192.168.0.0/16", Size: 20})
}

// Service is the network service. All methods are safe for concurrent use.
type Service struct {
	cfg    Config
	db     *store.DB
	log    *slog.Logger
	chains iptables.Chains
	netns  string // ExecRoot/netns

	mu        genMutex
	nets      map[string]*netState // by ID
	sandboxes map[string]*sandbox  // by container ID
	// dns is the embedded DNS's view of names, swapped whole on changes.
	dns atomic.Pointer[dnsTable]
	// gwDNS are the embedded DNS listeners on user networks' gateways for
	// sandboxed members, by network ID (see dnsgateway.go).
	gwDNS map[string]*gatewayDNS
	// upstreams are the resolvers unknown names are forwarded to.
	upstreams func() []string
	// bg tracks background veth deletions (see teardownLocked) and
	// namespace removals (nsRemovals).
	bg         sync.WaitGroup
	nsRemovals nsRemovals
	// vethQueue holds host veths waiting for deleteQueuedVeths, which runs
	// while vethWorker is set; vethFlush cuts its waits short (vethqueue.go).
	vethQueue  []queuedVeth
	vethWorker bool
	vethFlush  chan struct{}
	// vethsDeleted counts the veths the queue found and deleted.
	vethsDeleted atomic.Int64
	// pool holds prepared network namespaces (Config.NetnsPool).
	pool nsPool
	// lb is the published loopback ports' socket-level fast path (nil:
	// DNAT only), kept in step with the port rules.
	lb *socklb.LB
	// ip6Err is why ip6tables could not be set up at start (nil if fine or
	// not wanted); IPv6 networks are refused with it.
	ip6Err error
}

// netState is a network and its live allocation pool (nil for host/none).
type netState struct {
	rec   netRecord
	pool  *ipam.Pool
	pool6 *ipam.Pool6 // nil unless the network has IPv6
	// brIndex is the bridge's interface index, once an attach asked it
	// (see attachHost); 0 until then.
	brIndex atomic.Int32
}

// New opens the network service: it loads the recorded networks and
// sandboxes, creates the predefined "bridge", "host" and "none" networks if
// missing, makes sure every bridge exists with its address, and installs the
// netfilter rules (exactly one jump per built-in chain). Call Reconcile next
// with the containers still running.
func New(cfg Config, db *store.DB, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.BridgeName == "" {
		cfg.BridgeName = "berth0"
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if len(cfg.DefaultAddressPools) == 0 {
		cfg.DefaultAddressPools = DefaultPools()
	}
	if cfg.ExecRoot == "" {
		return nil, fmt.Errorf("network: ExecRoot is required")
	}
	if err := ValidateConfig(cfg); err != nil {
		return nil, err
	}
	if err := db.EnsureBuckets(bucketNetworks, bucketSandboxes); err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg, db: db, log: log,
		chains:    iptables.Chains{Prefix: cfg.ChainPrefix},
		netns:     filepath.Join(cfg.ExecRoot, "netns"),
		nets:      map[string]*netState{},
		sandboxes: map[string]*sandbox{},
		gwDNS:     map[string]*gatewayDNS{},
		upstreams: hostUpstreams,
	}
	if err := prepareNetnsDir(s.netns); err != nil {
		return nil, err
	}
	if cfg.IPForward {
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
			return nil, fmt.Errorf("enable IP forwarding (net.ipv4.ip_forward): %w", err)
		}
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	if err := s.ensureBridges(); err != nil {
		return nil, err
	}
	if cfg.Iptables {
		ctx := context.Background()
		if err := s.chains.EnsureChains(ctx); err != nil {
			return nil, err
		}
		if err := s.setupIp6tables(ctx); err != nil {
			return nil, err
		}
		s.openFastPath()
		if err := s.applyAllRules(ctx); err != nil {
			s.closeFastPath()
			return nil, err
		}
		if err := s.chains.EnsureJumps(ctx); err != nil {
			s.closeFastPath()
			return nil, err
		}
	}
	return s, nil
}

// ensureBridges makes the predefined networks and brings up every bridge,
// under the host-wide address pool lock: the default bridge may take its
// subnet from the pools.
func (s *Service) ensureBridges() error {
	unlock := lockAddressPools(s.log)
	defer unlock()
	if err := s.ensurePredefined(); err != nil {
		return err
	}
	for _, n := range s.nets {
		if n.rec.Driver == "bridge" {
			if err := ensureBridge(&n.rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// load reads the records and rebuilds the pools from the sandboxes' endpoints.
func (s *Service) load() error {
	err := s.db.ForEach(bucketNetworks, func(k string, v []byte) error {
		var r netRecord
		if err := json.Unmarshal(v, &r); err != nil {
			s.log.Warn("skipping unreadable network record", "id", k, "err", err)
			return nil
		}
		n := &netState{rec: r}
		if r.Driver == "bridge" {
			p, err := ipam.NewPool(r.Subnet, r.IPRange, r.Gateway)
			if err != nil {
				s.log.Warn("network has an invalid address pool", "network", r.Name, "err", err)
				return nil
			}
			n.pool = p
			if r.EnableIPv6 {
				p6, err := ipam.NewPool6(r.Subnet6, r.IPRange6, r.Gateway6)
				if err != nil {
					s.log.Warn("network has an invalid IPv6 address pool", "network", r.Name, "err", err)
					return nil
				}
				n.pool6 = p6
			}
		}
		s.nets[r.ID] = n
		return nil
	})
	if err != nil {
		return err
	}
	return s.db.ForEach(bucketSandboxes, func(k string, v []byte) error {
		var r sandboxRecord
		if err := json.Unmarshal(v, &r); err != nil {
			s.log.Warn("skipping unreadable sandbox record", "container", k, "err", err)
			return nil
		}
		sb := &sandbox{rec: r}
		for _, ep := range r.Endpoints {
			if n := s.nets[ep.NetworkID]; n != nil && n.pool != nil && ep.IP.IsValid() {
				if err := n.pool.Reserve(ep.IP); err != nil {
					s.log.Warn("recorded address conflicts", "container", k, "ip", ep.IP, "err", err)
				}
			}
			if n := s.nets[ep.NetworkID]; n != nil && n.pool6 != nil && ep.IPv6.IsValid() {
				if err := n.pool6.Reserve(ep.IPv6); err != nil {
					s.log.Warn("recorded address conflicts", "container", k, "ip", ep.IPv6, "err", err)
				}
			}
		}
		s.sandboxes[k] = sb
		return nil
	})
}

// ensurePredefined creates or updates the "bridge", "host" and "none" records.
func (s *Service) ensurePredefined() error {
	want := map[string]bool{"bridge": true, "host": true, "none": true}
	for _, n := range s.nets {
		if n.rec.Predefined {
			delete(want, n.rec.Name)
		}
	}
	for _, p := range []struct{ name, driver string }{{"host", "host"}, {"none", "null"}} {
		if want[p.name] {
			if err := s.saveNetwork(&netState{rec: newRecord(p.name, p.driver, true)}); err != nil {
				return err
			}
		}
	}
	var cur *netState
	if !want["bridge"] {
		cur = s.byName("bridge")
	}
	return s.ensureDefaultBridge(cur)
}

// ensureDefaultBridge makes the default bridge network from the daemon's
// configuration, or remakes cur (keeping its identity and its containers'
// addresses) when the configuration changed.
func (s *Service) ensureDefaultBridge(cur *netState) error {
	subnet, gw, err := s.defaultBridgeAddress()
	if err != nil {
		return err
	}
	var iprange netip.Prefix
	if s.cfg.FixedCIDR != "" {
		if iprange, err = netip.ParsePrefix(s.cfg.FixedCIDR); err != nil {
			return fmt.Errorf("invalid fixed-cidr %q: %w", s.cfg.FixedCIDR, err)
		}
	}
	sub6, v6, err := s.defaultBridge6(cur)
	if err != nil {
		return err
	}
	if cur != nil && cur.rec.Subnet == subnet && cur.rec.Gateway == gw && cur.rec.IPRange == iprange.Masked() &&
		cur.rec.Bridge == s.cfg.BridgeName && cur.rec.MTU == s.cfg.MTU &&
		cur.rec.EnableIPv6 == v6 && cur.rec.Subnet6 == sub6 {
		return nil
	}
	rec := s.defaultBridgeRecord(cur, subnet, gw, iprange.Masked())
	p, err := ipam.NewPool(rec.Subnet, rec.IPRange, rec.Gateway)
	if err != nil {
		return fmt.Errorf("default bridge: %w", err)
	}
	n := &netState{rec: rec, pool: p}
	if v6 {
		// UserSubnet6 stays false: --ip6 is for user networks (Docker's rule).
		n.rec.EnableIPv6, n.rec.Subnet6 = true, sub6
		if n.pool6, err = ipam.NewPool6(sub6, netip.Prefix{}, netip.Addr{}); err != nil {
			return fmt.Errorf("default bridge: %w", err)
		}
		n.rec.Gateway6 = n.pool6.Gateway
		s.enableForwarding6()
	}
	if cur != nil {
		s.reserveEndpointAddresses(n)
	}
	return s.saveNetwork(n)
}

// defaultBridgeRecord is the default bridge's record for the daemon's
// configuration; a changed cur keeps its ID and creation time (its old
// bridge is deleted when the name or subnet moves).
func (s *Service) defaultBridgeRecord(cur *netState, subnet netip.Prefix, gw netip.Addr, iprange netip.Prefix) netRecord {
	rec := newRecord("bridge", "bridge", true)
	if cur != nil {
		rec.ID, rec.Created = cur.rec.ID, cur.rec.Created
		if cur.rec.Bridge != s.cfg.BridgeName || cur.rec.Subnet != subnet {
			deleteBridge(cur.rec.Bridge)
		}
	}
	rec.Subnet, rec.Gateway, rec.IPRange = subnet, gw, iprange
	rec.Bridge, rec.MTU, rec.ICC, rec.Masquerade = s.cfg.BridgeName, s.cfg.MTU, true, true
	rec.HostBinding = netip.IPv4Unspecified()
	rec.Options = map[string]string{
		"com.docker.network.bridge.default_bridge":       "true",
		"com.docker.network.bridge.enable_icc":           "true",
		"com.docker.network.bridge.enable_ip_masquerade": "true",
		"com.docker.network.bridge.host_binding_ipv4":    "0.0.0.0",
		"com.docker.network.bridge.name":                 s.cfg.BridgeName,
		"com.docker.network.driver.mtu":                  fmt.Sprint(s.cfg.MTU),
	}
	return rec
}

// reserveEndpointAddresses marks the addresses of n's existing endpoints
// used in its new pools, warning of those the new subnets do not hold.
func (s *Service) reserveEndpointAddresses(n *netState) {
	for _, sb := range s.sandboxes {
		for _, ep := range sb.rec.Endpoints {
			if ep.NetworkID != n.rec.ID {
				continue
			}
			if n.pool.Reserve(ep.IP) != nil {
				s.log.Warn("container address is outside the new default bridge subnet", "container", sb.rec.ContainerID, "ip", ep.IP)
			}
			if ep.IPv6.IsValid() && (n.pool6 == nil || n.pool6.Reserve(ep.IPv6) != nil) {
				s.log.Warn("container IPv6 address is outside the new default bridge subnet", "container", sb.rec.ContainerID, "ip", ep.IPv6)
			}
		}
	}
}

// defaultBridgeAddress resolves bip, or picks 172.17.0.1/16 or the first
// default pool not already routed on the host.
func (s *Service) defaultBridgeAddress() (netip.Prefix, netip.Addr, error) {
	if s.cfg.Bip != "" {
		p, err := netip.ParsePrefix(s.cfg.Bip)
		if err != nil || !p.Addr().Is4() {
			return netip.Prefix{}, netip.Addr{}, fmt.Errorf("invalid bip %q: want an IPv4 address with prefix length, e.g. 172.17.0.1/16", s.cfg.Bip)
		}
		return p.Masked(), p.Addr(), nil
	}
	if cur := s.byName("bridge"); cur != nil && cur.rec.Subnet.IsValid() {
		return cur.rec.Subnet, cur.rec.Gateway, nil
	}
	def := netip.MustParsePrefix("172.17.0.0/16")
	used := hostRoutes(s.cfg.BridgeName)
	if !overlapsAny(def, used) {
		return def, netip.MustParseAddr("172.17.0.1"), nil
	}
	sub, err := s.pickSubnet(used)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, err
	}
	s.log.Info("172.17.0.0/16 is in use on this host (Docker?); the default bridge uses another subnet", "subnet", sub)
	return sub, sub.Addr().Next(), nil
}

func overlapsAny(p netip.Prefix, list []netip.Prefix) bool {
	for _, q := range list {
		if p.Overlaps(q) {
			return true
		}
	}
	return false
}

// pickSubnet returns the first default-pool subnet that overlaps neither a
// network of ours nor a route of the host. Caller holds s.mu or is New.
func (s *Service) pickSubnet(hostUsed []netip.Prefix) (netip.Prefix, error) {
	var used []netip.Prefix
	used = append(used, hostUsed...)
	for _, n := range s.nets {
		if n.rec.Subnet.IsValid() {
			used = append(used, n.rec.Subnet)
		}
	}
	for _, pool := range s.cfg.DefaultAddressPools {
		base, err := netip.ParsePrefix(pool.Base)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid default-address-pools base %q: %w", pool.Base, err)
		}
		for i := 0; ; i++ {
			sub, ok := ipam.Split(base, pool.Size, i)
			if !ok {
				break
			}
			if !overlapsAny(sub, used) {
				return sub, nil
			}
		}
	}
	return netip.Prefix{}, fmt.Errorf("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
}

func (s *Service) saveNetwork(n *netState) error {
	if err := s.db.Put(bucketNetworks, n.rec.ID, n.rec); err != nil {
		return err
	}
	s.nets[n.rec.ID] = n
	return nil
}

// byName finds a network by exact name. Caller holds s.mu (or is New).
func (s *Service) byName(name string) *netState {
	for _, n := range s.nets {
		if n.rec.Name == name {
			return n
		}
	}
	return nil
}

// genMutex is the service's lock, counting the write sections let go: a
// reader that saw the same count twice saw the same networks and
// attachments (see Gen).
type genMutex struct {
	sync.RWMutex
	gen atomic.Uint64
}

// Unlock counts the write section and unlocks.
func (m *genMutex) Unlock() {
	m.gen.Add(1)
	m.RWMutex.Unlock()
}

// Gen changes whenever the networks or a container's attachment may have
// changed: what Attached answered, or anything built from it, holds
// while Gen answers the same as it did before that Attached call.
func (s *Service) Gen() uint64 { return s.mu.gen.Load() }
