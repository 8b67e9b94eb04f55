package network

import (
	"context"
	"maps"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine/network/ipam"
	"github.com/berth-dev/berth/internal/errdefs"
	flt "github.com/berth-dev/berth/internal/filters"
	"github.com/berth-dev/berth/internal/stringid"
	evtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
)

// Driver options Berth understands (Docker's names).
const (
	optBridgeName  = "com.docker.network.bridge.name"
	optICC         = "com.docker.network.bridge.enable_icc"
	optMasquerade  = "com.docker.network.bridge.enable_ip_masquerade"
	optHostBinding = "com.docker.network.bridge.host_binding_ipv4"
	optMTU         = "com.docker.network.driver.mtu"
)

// netRecord is a network as stored in bbolt.
type netRecord struct {
	ID, Name    string
	Created     time.Time
	Driver      string // bridge, host or null
	Predefined  bool   // bridge, host, none: cannot be removed
	Internal    bool
	Attachable  bool
	Labels      map[string]string
	Options     map[string]string
	IPAMOptions map[string]string
	UserSubnet  bool // --subnet was given: --ip is allowed (Docker's rule)
	Subnet      netip.Prefix
	IPRange     netip.Prefix
	Gateway     netip.Addr
	Bridge      string
	MTU         int
	ICC         bool
	Masquerade  bool
	HostBinding netip.Addr // default host IP for published ports
	// IPv6 (--ipv6): the network's IPv6 subnet beside the IPv4 one.
	EnableIPv6  bool
	UserSubnet6 bool // --subnet gave the IPv6 subnet: --ip6 is allowed
	Subnet6     netip.Prefix
	IPRange6    netip.Prefix
	Gateway6    netip.Addr
}

func newRecord(name, driver string, predefined bool) netRecord {
	return netRecord{ID: stringid.New(), Name: name, Created: time.Now().UTC(), Driver: driver, Predefined: predefined,
		Labels: map[string]string{}, Options: map[string]string{}}
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// lookup resolves a network reference the way Docker does: full ID, exact
// name, then a unique ID prefix. Caller holds s.mu.
func (s *Service) lookup(ref string) (*netState, error) {
	if n := s.nets[ref]; n != nil {
		return n, nil
	}
	if n := s.byName(ref); n != nil {
		return n, nil
	}
	var found *netState
	for id, n := range s.nets {
		if ref != "" && strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, errdefs.Invalid("network %s is ambiguous (%d matches found based on ID prefix)", ref, 2)
			}
			found = n
		}
	}
	if found == nil {
		return nil, errdefs.NotFound("network %s not found", ref)
	}
	return found, nil
}

// Create makes a user-defined bridge network. The returned warning is
// empty unless Docker would warn too.
func (s *Service) Create(ctx context.Context, req network.CreateRequest) (string, string, error) {
	if err := checkCreateRequest(req); err != nil {
		return "", "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byName(req.Name) != nil {
		return "", "", errdefs.Conflict("network with name %s already exists", req.Name)
	}
	rec := newRecord(req.Name, "bridge", false)
	rec.Internal, rec.Attachable = req.Internal, req.Attachable
	rec.EnableIPv6 = req.EnableIPv6 != nil && *req.EnableIPv6
	maps.Copy(rec.Labels, req.Labels)
	maps.Copy(rec.Options, req.Options)
	if err := s.applyBridgeOptionsLocked(&rec); err != nil {
		return "", "", err
	}
	if err := s.applyIPAMLocked(&rec, req.IPAM); err != nil {
		return "", "", err
	}
	if !rec.Subnet.IsValid() {
		// Held until the bridge holds the subnet (createBridgeLocked).
		unlock := lockAddressPools(s.log)
		defer unlock()
		sub, err := s.pickSubnet(hostRoutes(""))
		if err != nil {
			return "", "", errdefs.Forbidden("%s", err.Error())
		}
		rec.Subnet = sub
	}
	if err := s.createBridgeLocked(ctx, rec); err != nil {
		return "", "", err
	}
	return rec.ID, "", nil
}

// checkCreateRequest rejects, before anything is locked, a name Docker
// rejects and the kinds of network berthd does not make.
func checkCreateRequest(req network.CreateRequest) error {
	if req.Name == "" {
		return errdefs.Invalid("network name must not be empty")
	}
	if !validName.MatchString(req.Name) {
		return errdefs.Invalid("invalid network name %q, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", req.Name)
	}
	switch req.Driver {
	case "", "bridge":
	case "host", "null":
		return errdefs.Forbidden("only one instance of \"%s\" network is allowed", req.Driver)
	default:
		return errdefs.NotFound("plugin \"%s\" not found", req.Driver)
	}
	if req.ConfigOnly || req.ConfigFrom != nil || req.Ingress {
		return errdefs.NotImplemented("config-only, config-from and ingress networks are not supported by berthd")
	}
	if req.EnableIPv4 != nil && !*req.EnableIPv4 {
		return errdefs.NotImplemented("networks without IPv4 are not supported by berthd")
	}
	return nil
}

// applyBridgeOptionsLocked reads the bridge driver's -o options (ICC,
// masquerade, MTU, host binding, bridge name) into rec, over the defaults.
func (s *Service) applyBridgeOptionsLocked(rec *netRecord) error {
	rec.ICC, rec.Masquerade, rec.MTU = true, true, s.cfg.MTU
	rec.HostBinding = netip.IPv4Unspecified()
	var err error
	for _, b := range []struct {
		opt string
		dst *bool
	}{{optICC, &rec.ICC}, {optMasquerade, &rec.Masquerade}} {
		if v, ok := rec.Options[b.opt]; ok {
			if *b.dst, err = strconv.ParseBool(v); err != nil {
				return errdefs.Invalid("invalid value %q for %s: want true or false", v, b.opt)
			}
		}
	}
	if v, ok := rec.Options[optMTU]; ok {
		if rec.MTU, err = strconv.Atoi(v); err != nil || rec.MTU < 68 || rec.MTU > 65535 {
			return errdefs.Invalid("invalid MTU %q for %s", v, optMTU)
		}
	}
	if v, ok := rec.Options[optHostBinding]; ok {
		if rec.HostBinding, err = netip.ParseAddr(v); err != nil || !rec.HostBinding.Is4() {
			return errdefs.Invalid("invalid IPv4 address %q for %s", v, optHostBinding)
		}
	}
	rec.Bridge = "br-" + stringid.Short(rec.ID)
	if v := rec.Options[optBridgeName]; v != "" {
		if len(v) > 15 {
			return errdefs.Invalid("bridge name %q is longer than 15 characters", v)
		}
		for _, n := range s.nets {
			if n.rec.Bridge == v {
				return errdefs.Conflict("bridge name %s is already used by network %s", v, n.rec.Name)
			}
		}
		rec.Bridge = v
	}
	return nil
}

// applyIPAMLocked reads the request's IPAM section into rec: at most one
// IPv4 and one IPv6 subnet, each with its range and gateway.
func (s *Service) applyIPAMLocked(rec *netRecord, req *network.IPAM) error {
	if req == nil {
		return nil
	}
	if req.Driver != "" && req.Driver != "default" {
		return errdefs.NotFound("plugin \"%s\" not found", req.Driver)
	}
	rec.IPAMOptions = req.Options
	var v4, v6 []network.IPAMConfig
	for _, c := range req.Config {
		if len(c.AuxAddress) > 0 {
			// Accepted and ignored, they would be handed to containers.
			return errdefs.NotImplemented("auxiliary addresses (--aux-address) are not supported by berthd")
		}
		if !c.Subnet.IsValid() && (c.IPRange.IsValid() || c.Gateway.IsValid()) {
			return errdefs.Invalid("--ip-range and --gateway need --subnet")
		}
		if c.Subnet.IsValid() && c.Subnet.Addr().Is6() && !c.Subnet.Addr().Is4In6() {
			v6 = append(v6, c)
		} else {
			v4 = append(v4, c)
		}
	}
	if len(v4) > 1 || len(v6) > 1 {
		return errdefs.NotImplemented("berthd supports one IPv4 and one IPv6 subnet per network")
	}
	if len(v6) == 1 {
		if !rec.EnableIPv6 {
			return errdefs.Invalid("IPv6 subnet %s given but IPv6 is not enabled on the network: add --ipv6 (compose: enable_ipv6: true)", v6[0].Subnet)
		}
		if err := s.userSubnet6Locked(rec, v6[0]); err != nil {
			return err
		}
	}
	if len(v4) == 1 && v4[0].Subnet.IsValid() {
		return s.userSubnet4Locked(rec, v4[0])
	}
	return nil
}

// userSubnet4Locked takes the user's IPv4 subnet: a network address, not
// reserved, overlapping no other network's.
func (s *Service) userSubnet4Locked(rec *netRecord, c network.IPAMConfig) error {
	if !c.Subnet.Addr().Is4() {
		return errdefs.Invalid("invalid subnet %s", c.Subnet)
	}
	if c.Subnet != c.Subnet.Masked() {
		return errdefs.Invalid("invalid subnet %s: it should be %s", c.Subnet, c.Subnet.Masked())
	}
	if err := ipam.CheckReserved("subnet", c.Subnet); err != nil {
		return errdefs.Invalid("%s", err.Error())
	}
	for _, n := range s.nets {
		if n.rec.Subnet.IsValid() && n.rec.Subnet.Overlaps(c.Subnet) {
			return errdefs.Forbidden("invalid pool request: Pool overlaps with other one on this address space")
		}
	}
	rec.Subnet, rec.IPRange, rec.Gateway, rec.UserSubnet = c.Subnet, c.IPRange, c.Gateway, true
	return nil
}

// createBridgeLocked makes the address pools, the bridge and the rules of
// a new network and records it; on failure nothing of it is left.
func (s *Service) createBridgeLocked(ctx context.Context, rec netRecord) error {
	pool, err := ipam.NewPool(rec.Subnet, rec.IPRange, rec.Gateway)
	if err != nil {
		return errdefs.Invalid("%s", err.Error())
	}
	rec.Gateway = pool.Gateway
	var pool6 *ipam.Pool6
	if rec.EnableIPv6 {
		if pool6, err = s.pool6Locked(&rec); err != nil {
			return err
		}
	}
	if err := ensureBridge(&rec); err != nil {
		return err
	}
	n := &netState{rec: rec, pool: pool, pool6: pool6}
	if err := s.saveNetwork(n); err != nil {
		deleteBridge(rec.Bridge)
		return err
	}
	if err := s.applyNetworkRules(ctx); err != nil {
		delete(s.nets, rec.ID)
		s.db.Delete(bucketNetworks, rec.ID)
		deleteBridge(rec.Bridge)
		return err
	}
	s.emit(evtypes.ActionCreate, &n.rec)
	return nil
}

// Remove deletes a user-defined network that has no endpoints.
func (s *Service) Remove(ctx context.Context, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.lookup(ref)
	if err != nil {
		return err
	}
	return s.removeLocked(ctx, n)
}

func (s *Service) removeLocked(ctx context.Context, n *netState) error {
	if n.rec.Predefined {
		return errdefs.Forbidden("%s is a pre-defined network and cannot be removed", n.rec.Name)
	}
	if len(s.endpointsOn(n.rec.ID)) > 0 {
		return errdefs.Forbidden("error while removing network: network %s has active endpoints", n.rec.Name)
	}
	// Kernel objects first: a crash after this leaves a record whose bridge
	// New recreates, never a bridge nobody owns.
	if err := deleteBridge(n.rec.Bridge); err != nil {
		return err
	}
	delete(s.nets, n.rec.ID)
	if err := s.db.Delete(bucketNetworks, n.rec.ID); err != nil {
		return err
	}
	s.emit(evtypes.ActionDestroy, &n.rec)
	return s.applyNetworkRules(ctx)
}

// emit records a network event with dockerd's attributes (name, type).
func (s *Service) emit(action evtypes.Action, rec *netRecord) {
	if s.cfg.Events != nil {
		s.cfg.Events.Log(evtypes.NetworkEventType, action, rec.ID, map[string]string{"name": rec.Name, "type": rec.Driver})
	}
}

// endpointsOn lists the sandboxes' endpoints on a network. Caller holds s.mu.
func (s *Service) endpointsOn(netID string) []*endpointRecord {
	var out []*endpointRecord
	for _, sb := range s.sandboxes {
		for _, ep := range sb.rec.Endpoints {
			if ep.NetworkID == netID {
				out = append(out, ep)
			}
		}
	}
	return out
}

// Inspect returns one network as `docker network inspect` shows it.
func (s *Service) Inspect(ctx context.Context, ref string, verbose bool) (network.Inspect, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.lookup(ref)
	if err != nil {
		return network.Inspect{}, err
	}
	return s.inspectLocked(n, true), nil
}

func (s *Service) summary(n *netState) network.Network {
	r := n.rec
	out := network.Network{
		Name: r.Name, ID: r.ID, Created: r.Created, Scope: "local", Driver: r.Driver,
		EnableIPv4: true, Internal: r.Internal, Attachable: r.Attachable,
		IPAM:    network.IPAM{Driver: "default", Options: r.IPAMOptions, Config: []network.IPAMConfig{}},
		Options: r.Options, Labels: r.Labels,
	}
	if r.Driver == "bridge" {
		c := network.IPAMConfig{Subnet: r.Subnet, Gateway: r.Gateway}
		if r.IPRange.IsValid() {
			c.IPRange = r.IPRange
		}
		out.IPAM.Config = []network.IPAMConfig{c}
		if r.EnableIPv6 {
			out.EnableIPv6 = true
			c6 := network.IPAMConfig{Subnet: r.Subnet6, Gateway: r.Gateway6}
			if r.IPRange6.IsValid() {
				c6.IPRange = r.IPRange6
			}
			out.IPAM.Config = append(out.IPAM.Config, c6)
		}
	} else {
		out.EnableIPv4 = false
	}
	if out.Options == nil {
		out.Options = map[string]string{}
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	return out
}

func (s *Service) inspectLocked(n *netState, withContainers bool) network.Inspect {
	out := network.Inspect{Network: s.summary(n), Containers: map[string]network.EndpointResource{}}
	if withContainers {
		for _, sb := range s.sandboxes {
			for _, ep := range sb.rec.Endpoints {
				if ep.NetworkID != n.rec.ID {
					continue
				}
				res := network.EndpointResource{Name: sb.rec.Name, EndpointID: ep.EndpointID}
				if hw, err := net.ParseMAC(ep.MAC); err == nil {
					res.MacAddress = network.HardwareAddr(hw)
				}
				if ep.IP.IsValid() {
					res.IPv4Address = netip.PrefixFrom(ep.IP, ep.PrefixLen)
				}
				if ep.IPv6.IsValid() {
					res.IPv6Address = netip.PrefixFrom(ep.IPv6, ep.IPv6PrefixLen)
				}
				out.Containers[sb.rec.ContainerID] = res
			}
		}
	}
	return out
}

// List returns the networks matching Docker's filters (driver, id, label,
// name, scope, type=custom|builtin, dangling), sorted by name. Containers is
// empty in each entry, as Docker's list answers since API 1.28.
func (s *Service) List(ctx context.Context, filters map[string][]string) ([]network.Summary, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := flt.Validate(filters, "driver", "id", "label", "name", "scope", "type", "dangling"); err != nil {
		return nil, err
	}
	for _, v := range filters["scope"] {
		if v != "local" && v != "global" && v != "swarm" {
			return nil, errdefs.Invalid("invalid filter 'scope=%s': want local, global or swarm", v)
		}
	}
	var out []network.Summary
	for _, n := range s.nets {
		ok, err := s.matches(n, filters)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, network.Summary{Network: s.summary(n)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if out == nil {
		out = []network.Summary{}
	}
	return out, nil
}

func (s *Service) matches(n *netState, f map[string][]string) (bool, error) {
	any := func(key string, pred func(v string) bool) bool {
		vals, ok := f[key]
		if !ok || len(vals) == 0 {
			return true
		}
		for _, v := range vals {
			if pred(v) {
				return true
			}
		}
		return false
	}
	r := n.rec
	if !any("driver", func(v string) bool { return v == r.Driver }) ||
		!any("id", func(v string) bool { return strings.HasPrefix(r.ID, v) }) ||
		!any("name", func(v string) bool { return strings.Contains(r.Name, v) }) ||
		!any("scope", func(v string) bool { return v == "local" }) {
		return false, nil
	}
	for _, v := range f["type"] {
		if v != "custom" && v != "builtin" {
			return false, errdefs.Invalid("invalid filter: 'type'='%s'", v)
		}
	}
	if !any("type", func(v string) bool { return (v == "builtin") == r.Predefined }) {
		return false, nil
	}
	if !flt.Labels(flt.Args{"label": f["label"]}, r.Labels) {
		return false, nil
	}
	want, err := flt.Bool(f, "dangling")
	if err != nil {
		return false, err
	}
	if want != nil {
		dangling := !r.Predefined && len(s.endpointsOn(r.ID)) == 0
		if dangling != *want {
			return false, nil
		}
	}
	return true, nil
}

// Prune removes unused user-defined networks matching filters (label,
// label!, until) and returns their names.
func (s *Service) Prune(ctx context.Context, filters map[string][]string) (network.PruneReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := flt.Validate(filters, "label", "label!", "until"); err != nil {
		return network.PruneReport{}, err
	}
	until, err := flt.Until(filters, "until", time.Now())
	if err != nil {
		return network.PruneReport{}, err
	}
	rep := network.PruneReport{NetworksDeleted: []string{}}
	var ids []string
	for id := range s.nets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		n := s.nets[id]
		if n.rec.Predefined || len(s.endpointsOn(id)) > 0 {
			continue
		}
		if !until.IsZero() && !n.rec.Created.Before(until) {
			continue
		}
		if !flt.Labels(filters, n.rec.Labels) {
			continue
		}
		if err := s.removeLocked(ctx, n); err != nil {
			s.log.Warn("prune: could not remove network", "network", n.rec.Name, "err", err)
			continue
		}
		rep.NetworksDeleted = append(rep.NetworksDeleted, n.rec.Name)
	}
	return rep, nil
}

// DefaultGateway is the default bridge network's gateway address: what
// "host-gateway" in --add-host stands for unless daemon.json sets
// host-gateway-ip. The zero Addr when there is no default bridge.
func (s *Service) DefaultGateway() netip.Addr {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, n := range s.nets {
		if n.rec.Predefined && n.rec.Name == "bridge" {
			return n.rec.Gateway
		}
	}
	return netip.Addr{}
}
