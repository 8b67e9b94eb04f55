package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berth-dev/berth/engine/network/ipam"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
	"github.com/moby/moby/api/types/network"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	bolt "go.etcd.io/bbolt"
)

// Connect sets up the container's network for one run: its netns, a veth
// into each bridge network, addresses, MACs, default route, loopback,
// published ports and the embedded DNS on user networks. A second call for
// the same container returns the existing attachment unchanged. On error
// nothing is left behind.
func (s *Service) Connect(ctx context.Context, req ConnectRequest) (*Attachment, error) {
	att, op, err := s.ConnectDeferred(ctx, req)
	if op != nil {
		if cerr := s.db.Update(op); cerr != nil {
			s.Disconnect(ctx, req.ContainerID)
			return nil, cerr
		}
	}
	return att, err
}

// ConnectDeferred is Connect but for the commit of the sandbox's record:
// it returns that change (nil when nothing is to be recorded) for the
// caller to commit with its own, the container's running state, in one
// commit instead of two. Until then a crash leaves namespaces, veths and
// port rules that no record owns, which the next start's Reconcile
// removes, as it removes those of a container not recorded as running.
// The change writes the record only while the sandbox is still connected,
// so committing it after a Disconnect (a failed start) writes nothing.
func (s *Service) ConnectDeferred(ctx context.Context, req ConnectRequest) (*Attachment, store.Op, error) {
	if req.ContainerID == "" {
		return nil, nil, errdefs.Invalid("container ID is required")
	}
	// The namespace of the container's last run may still be unmounting
	// from the path its new one takes (DisconnectDeferred).
	s.awaitNetNSRemoval(filepath.Join(s.netns, req.ContainerID))
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb := s.sandboxes[req.ContainerID]; sb != nil {
		return s.attachmentLocked(sb), nil, nil
	}
	mode := req.NetworkMode
	if mode == "" || mode == network.NetworkDefault {
		mode = network.NetworkBridge
	}
	if other, ok := strings.CutPrefix(mode, "container:"); ok {
		sb := s.sandboxes[other]
		if sb == nil || sb.rec.NetNS == "" {
			return nil, nil, errdefs.Conflict("cannot join network namespace of container %s: it is not running with its own network", other)
		}
		return &Attachment{NetNSPath: sb.rec.NetNS, SandboxKey: sb.rec.NetNS, Networks: map[string]*network.EndpointSettings{}, Ports: network.PortMap{}}, nil, nil
	}
	primary, err := s.lookup(mode)
	if err != nil {
		return nil, nil, err
	}
	rec := sandboxRecord{ContainerID: req.ContainerID, Name: strings.TrimPrefix(req.ContainerName, "/"), Hostname: req.Hostname, Sandboxed: req.Sandboxed}
	var sb *sandbox
	switch primary.rec.Driver {
	case "host":
		sb = s.connectHostLocked(rec, primary)
	case "null":
		sb, err = s.connectNoneLocked(ctx, rec, primary)
	default:
		sb, err = s.connectBridgeLocked(ctx, rec, primary, req)
	}
	if err != nil {
		return nil, nil, err
	}
	return s.attachmentLocked(sb), putRecordOp(sb), nil
}

// connectHostLocked registers a container that shares the host's network.
func (s *Service) connectHostLocked(rec sandboxRecord, host *netState) *sandbox {
	rec.Mode = "host"
	rec.Endpoints = []*endpointRecord{{NetworkID: host.rec.ID, EndpointID: stringid.New()}}
	return s.registerLocked(rec)
}

// connectNoneLocked gives the container a namespace of its own with only
// loopback up.
func (s *Service) connectNoneLocked(ctx context.Context, rec sandboxRecord, none *netState) (*sandbox, error) {
	rec.Mode = "none"
	rec.NetNS = filepath.Join(s.netns, rec.ContainerID)
	rec.Endpoints = []*endpointRecord{{NetworkID: none.rec.ID, EndpointID: stringid.New()}}
	sb := s.registerLocked(rec)
	if err := inNetNS(rec.NetNS, true, func(netns.NsHandle) error { return withHandle(prepareNetNS) }); err != nil {
		s.teardownLocked(ctx, sb)
		return nil, err
	}
	return sb, nil
}

// registerLocked makes a sandbox live (its record is the caller's to
// commit: see putRecordOp).
func (s *Service) registerLocked(rec sandboxRecord) *sandbox {
	sb := &sandbox{rec: rec}
	s.sandboxes[rec.ContainerID] = sb
	return sb
}

// putRecordOp is the change that stores sb's record as it is now, unless
// sb was disconnected meanwhile (see sandbox.gone).
func putRecordOp(sb *sandbox) store.Op {
	data, merr := json.Marshal(sb.rec)
	key := []byte(sb.rec.ContainerID)
	return func(tx *bolt.Tx) error {
		if merr != nil {
			return merr
		}
		if sb.gone.Load() {
			return nil
		}
		return tx.Bucket([]byte(bucketSandboxes)).Put(key, data)
	}
}

// endpointPlan is one bridge network a container joins, with what the
// request asks of its endpoint.
type endpointPlan struct {
	n  *netState
	ep *network.EndpointSettings
}

// connectBridgeLocked joins the container to its bridge networks, the
// primary one first (eth0), then the others of req.Endpoints by name:
// addresses and ports are allocated first, then the namespace and veths
// are made, then the port rules (the record is the caller's to commit:
// see putRecordOp).
func (s *Service) connectBridgeLocked(ctx context.Context, rec sandboxRecord, primary *netState, req ConnectRequest) (*sandbox, error) {
	rec.Mode = "bridge"
	rec.NetNS = filepath.Join(s.netns, req.ContainerID)
	sb := &sandbox{rec: rec}
	plans, err := s.planEndpointsLocked(primary, req.Endpoints)
	if err != nil {
		return nil, err
	}
	pooled, err := s.reservedFor(req.ContainerID, plans)
	if err != nil {
		return nil, err
	}
	specs, err := s.allocateEndpointsLocked(sb, plans, req.MacAddress)
	if err == nil {
		err = s.publishLocked(sb, primary, req)
	}
	if err != nil {
		s.releaseLocked(sb)
		if pooled != nil {
			pooled.destroy()
		}
		return nil, err
	}
	if pooled == nil && poolUsable(plans) {
		pooled = s.takePooled(plans[0].n.rec.MTU)
	}
	if pooled != nil {
		specs[0].HostVeth = pooled.veth
		sb.rec.Endpoints[0].HostVeth = pooled.veth
	}
	s.sandboxes[sb.rec.ContainerID] = sb
	// The namespace and veths are kernel work (tens of milliseconds) that
	// touches nothing of s: made without s.mu, so that containers started
	// together do not queue here. The sandbox is registered with its
	// addresses and ports reserved; nothing else acts on it meanwhile (the
	// containers service serialises one container's start, stop and
	// network changes) and `network rm` refuses its networks.
	wantDNS := s.needsDNS(sb)
	s.mu.Unlock()
	dnsConns, err := s.wireLocked(sb, true, pooled, plans, specs, wantDNS)
	s.mu.Lock()
	if err == nil && len(sb.rec.Ports) > 0 {
		if err = s.applyPortRules(ctx); err != nil && dnsConns != nil {
			dnsConns.Close()
		}
	}
	if err != nil {
		s.teardownLocked(ctx, sb)
		return nil, err
	}
	if dnsConns != nil {
		sb.dns = s.startDNS(sb.rec.ContainerID, dnsConns)
	}
	s.refreshDNSLocked()
	if n, _, ok := s.dnsNetworkLocked(sb); ok && s.gwDNS[n.rec.ID] == nil {
		// A sandbox without its resolver would fail every name lookup.
		err := fmt.Errorf("cannot serve DNS to a sandboxed container on network %s's gateway (see the daemon log)", n.rec.Name)
		s.teardownLocked(ctx, sb)
		return nil, err
	}
	return sb, nil
}

// planEndpointsLocked lists the networks to join: primary, then the other
// networks named in eps, sorted (all must be bridges).
func (s *Service) planEndpointsLocked(primary *netState, eps map[string]*network.EndpointSettings) ([]endpointPlan, error) {
	plans := []endpointPlan{{primary, findEndpoint(eps, primary)}}
	for _, k := range slices.Sorted(maps.Keys(eps)) {
		n, err := s.lookup(k)
		if err != nil {
			return nil, err
		}
		if n == primary {
			continue
		}
		if n.rec.Driver != "bridge" {
			return nil, errdefs.Invalid("container cannot be connected to network endpoints: %s, %s", primary.rec.Name, n.rec.Name)
		}
		plans = append(plans, endpointPlan{n, eps[k]})
	}
	return plans, nil
}

// allocateEndpointsLocked takes addresses for each planned endpoint, eth0,
// eth1, ... in order. The request's MAC address is the primary one's
// unless its endpoint names its own; the others get one only when theirs
// names it.
func (s *Service) allocateEndpointsLocked(sb *sandbox, plans []endpointPlan, reqMAC string) ([]linkSpec, error) {
	var specs []linkSpec
	for i, p := range plans {
		mac := ""
		if i == 0 {
			mac = reqMAC
		}
		if p.ep != nil && p.ep.MacAddress != nil {
			mac = p.ep.MacAddress.String()
		}
		ep, spec, err := s.allocateLocked(sb, p.n, p.ep, fmt.Sprintf("eth%d", i), mac, i == 0)
		if err != nil {
			return nil, err
		}
		sb.rec.Endpoints = append(sb.rec.Endpoints, ep)
		specs = append(specs, spec)
	}
	return specs, nil
}

// wireLocked makes the kernel objects of a recorded sandbox's new
// endpoints: inside its namespace (made first when create, with loopback
// up; or taken from the pool when pooled is set) the container ends of
// the veths and, when wantDNS, the embedded DNS server's sockets;
// outside, the host ends on their bridges. The DNS sockets are returned
// for the caller to serve; on error nothing is left open.
//
// It reads nothing of s that changes (a network's bridge name is fixed):
// connectBridgeLocked calls it with s.mu released.
func (s *Service) wireLocked(sb *sandbox, create bool, pooled *pooledNS, plans []endpointPlan, specs []linkSpec, wantDNS bool) (*dnsSockets, error) {
	// The pooled veth's host end (the first endpoint's, see wireInside)
	// has its index known; the others are looked up (0).
	pooledIndex := 0
	if pooled != nil {
		idx, ok := pooled.hostIndex()
		if !ok {
			// Its veth was deleted behind the daemon's back (which takes
			// the namespace's end too): a new namespace and veth, made as
			// without a pool, under the name the record already holds.
			pooled.destroy()
			pooled = nil
		}
		pooledIndex = idx
	}
	if pooled != nil {
		if err := pooled.adopt(sb.rec.NetNS, &s.bg); err != nil {
			return nil, err
		}
		create = false
	}
	var dnsConns *dnsSockets
	err := inNetNS(sb.rec.NetNS, create, func(host netns.NsHandle) error {
		return withHandle(func(h *netlink.Handle) error {
			var err error
			dnsConns, err = wireInside(h, host, create, pooled, specs, wantDNS)
			return err
		})
	})
	if err == nil {
		err = withHandle(func(h *netlink.Handle) error {
			for i, p := range plans {
				vethIndex := 0
				if i == 0 {
					vethIndex = pooledIndex
				}
				if err := s.attachHost(h, p.n, specs[i].HostVeth, vethIndex); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil && dnsConns != nil {
		dnsConns.Close()
		dnsConns = nil
	}
	return dnsConns, err
}

// wireInside is wireLocked's part inside the container's namespace: it
// readies a new namespace (create), makes the container ends of the
// veths (the first one exists already when pooled is set) and opens the
// DNS sockets when wantDNS. On error nothing is left open.
func wireInside(h *netlink.Handle, host netns.NsHandle, create bool, pooled *pooledNS, specs []linkSpec, wantDNS bool) (*dnsSockets, error) {
	if create {
		if err := prepareNetNS(h); err != nil {
			return nil, err
		}
	}
	for i, sp := range specs {
		var err error
		if i == 0 && pooled != nil {
			err = configureInside(h, sp, pooled.ifIndex, true)
		} else {
			err = setupInside(h, host, sp)
		}
		if err != nil {
			return nil, err
		}
	}
	if wantDNS {
		return listenDNS()
	}
	return nil, nil
}

// findEndpoint returns the request's settings for network n, keyed by name or ID.
func findEndpoint(eps map[string]*network.EndpointSettings, n *netState) *network.EndpointSettings {
	if ep := eps[n.rec.Name]; ep != nil {
		return ep
	}
	if ep := eps[n.rec.ID]; ep != nil {
		return ep
	}
	for k, ep := range eps {
		if len(k) >= 12 && strings.HasPrefix(n.rec.ID, k) {
			return ep
		}
	}
	return nil
}

// attachHost puts the host end veth (of index vethIndex, 0: to look up)
// on n's bridge. The bridge's index is asked once and kept (n.brIndex);
// should the bridge have been made again since, the attach that fails
// asks again.
func (s *Service) attachHost(h *netlink.Handle, n *netState, veth string, vethIndex int) error {
	if idx := int(n.brIndex.Load()); idx > 0 {
		if err := attachHostSide(h, veth, vethIndex, idx); err == nil {
			return nil
		}
		n.brIndex.CompareAndSwap(int32(idx), 0)
	}
	idx, err := bridgeIndex(h, n.rec.Bridge)
	if err != nil {
		return err
	}
	if err := attachHostSide(h, veth, vethIndex, idx); err != nil {
		return err
	}
	n.brIndex.Store(int32(idx))
	return nil
}

// allocateLocked picks the endpoint's address (fixed --ip or from the
// pool), MAC and interface names. Nothing is created yet.
func (s *Service) allocateLocked(sb *sandbox, n *netState, req *network.EndpointSettings, ifname, mac string, primary bool) (*endpointRecord, linkSpec, error) {
	if n.pool == nil {
		return nil, linkSpec{}, errdefs.Invalid("network %s cannot hold container endpoints", n.rec.Name)
	}
	ep := &endpointRecord{NetworkID: n.rec.ID, EndpointID: stringid.New(), PrefixLen: n.rec.Subnet.Bits(), Gateway: n.rec.Gateway, IfName: ifname, HostVeth: vethName()}
	if req != nil {
		ep.IPAMConfig = req.IPAMConfig.Copy()
		ep.Aliases = append([]string(nil), req.Aliases...)
		ep.Links = append([]string(nil), req.Links...)
		ep.DriverOpts = req.DriverOpts
	}
	if ep.IPAMConfig != nil && ep.IPAMConfig.IPv4Address.IsValid() {
		ip := ep.IPAMConfig.IPv4Address
		if !n.rec.UserSubnet {
			return nil, linkSpec{}, errdefs.Invalid("user specified IP address is supported only when connecting to networks with user configured subnets")
		}
		if err := n.pool.Reserve(ip); err != nil {
			if errors.Is(err, ipam.ErrInUse) {
				return nil, linkSpec{}, errdefs.Conflict("Address already in use")
			}
			return nil, linkSpec{}, errdefs.Invalid("%s", err.Error())
		}
		ep.IP = ip
	} else {
		ip, err := n.pool.Allocate()
		if err != nil {
			return nil, linkSpec{}, errdefs.Unavailable("%s", err.Error())
		}
		ep.IP = ip
	}
	if err := s.allocate6Locked(n, ep); err != nil {
		n.pool.Release(ep.IP)
		return nil, linkSpec{}, err
	}
	hw := macFromIP(ep.IP)
	if mac != "" {
		parsed, err := net.ParseMAC(mac)
		if err != nil || len(parsed) != 6 {
			n.pool.Release(ep.IP)
			if n.pool6 != nil {
				n.pool6.Release(ep.IPv6)
			}
			return nil, linkSpec{}, errdefs.Invalid("invalid MAC address %q", mac)
		}
		hw = parsed
	}
	ep.MAC = hw.String()
	if !n.rec.Predefined {
		ep.DNSNames = dnsNames(sb.rec.Name, ep.Aliases, sb.rec.ContainerID, sb.rec.Hostname)
	}
	spec := linkSpec{IfName: ifname, HostVeth: ep.HostVeth, MAC: hw, MTU: n.rec.MTU,
		Addr: netip.PrefixFrom(ep.IP, ep.PrefixLen), Gateway: ep.Gateway, DefaultRoute: primary && !n.rec.Internal}
	if ep.IPv6.IsValid() {
		spec.Addr6, spec.Gateway6 = netip.PrefixFrom(ep.IPv6, ep.IPv6PrefixLen), ep.IPv6Gateway
	}
	return ep, spec, nil
}

// dnsNames are the names the embedded DNS answers for an endpoint: the
// container name, its aliases, its short ID and its hostname (Docker's
// DNSNames, API 1.44+).
func dnsNames(name string, aliases []string, id, hostname string) []string {
	var out []string
	add := func(v string) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	add(name)
	for _, a := range aliases {
		add(a)
	}
	add(shortID(id))
	add(hostname)
	return out
}

// publishLocked reserves host ports for the container's published ports on
// its primary network. Internal networks publish nothing (as Docker).
func (s *Service) publishLocked(sb *sandbox, n *netState, req ConnectRequest) error {
	specs, exposed, err := portSpecs(req.PortBindings, req.PublishAll, req.ExposedPorts, n.rec.HostBinding)
	if err != nil {
		return err
	}
	for _, p := range exposed {
		sb.rec.Exposed = append(sb.rec.Exposed, p.String())
	}
	if n.rec.Internal {
		for _, sp := range specs {
			sb.rec.Exposed = append(sb.rec.Exposed, sp.Port.String())
		}
		return nil
	}
	for _, sp := range specs {
		if err := checkPublish6(n, sp); err != nil {
			return err
		}
		c, port, err := bindSpec(sp)
		if err != nil {
			return fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): %w", sb.rec.Name, shortID(sb.rec.Endpoints[0].EndpointID), err)
		}
		if c != nil {
			sb.reservations = append(sb.reservations, c)
		}
		sb.rec.Ports = append(sb.rec.Ports, portRecord{NetworkID: n.rec.ID, Proto: string(sp.Port.Proto()), HostIP: sp.HostIP, HostPort: port, ContainerPort: sp.Port.Num()})
		if sp.Dual && n.pool6 != nil {
			// The same host port on every IPv6 address, as Docker publishes.
			sp6 := sp
			sp6.HostIP, sp6.HostLo, sp6.HostHi = netip.IPv6Unspecified(), port, port
			c, _, err := bindSpec(sp6)
			if err != nil {
				return fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): %w", sb.rec.Name, shortID(sb.rec.Endpoints[0].EndpointID), err)
			}
			if c != nil {
				sb.reservations = append(sb.reservations, c)
			}
			sb.rec.Ports = append(sb.rec.Ports, portRecord{NetworkID: n.rec.ID, Proto: string(sp.Port.Proto()), HostIP: sp6.HostIP, HostPort: port, ContainerPort: sp.Port.Num()})
		}
	}
	return nil
}

// releaseLocked frees what allocate and publish took (addresses, host
// ports) without touching the kernel or the database.
func (s *Service) releaseLocked(sb *sandbox) {
	for _, ep := range sb.rec.Endpoints {
		if n := s.nets[ep.NetworkID]; n != nil && n.pool != nil && ep.IP.IsValid() {
			n.pool.Release(ep.IP)
		}
		if n := s.nets[ep.NetworkID]; n != nil && n.pool6 != nil && ep.IPv6.IsValid() {
			n.pool6.Release(ep.IPv6)
		}
	}
	closeAll(sb.reservations)
	sb.reservations = nil
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}

// teardownLocked removes everything a sandbox holds; every step tolerates
// pieces that are already gone, so it also cleans up after a crash.
func (s *Service) teardownLocked(ctx context.Context, sb *sandbox) error {
	var errs []error
	if sb.dns != nil {
		sb.dns.Close()
		sb.dns = nil
	}
	// The netns mount goes first: when the container has exited that drops
	// the namespace's last reference and the kernel destroys its veths in a
	// batch. Deleting a veth synchronously costs 15-40 ms of RCU grace
	// period, so the explicit delete (needed when something still holds the
	// namespace) runs in the background, off the `rm` path, and only for a
	// veth still there a while later (vethqueue.go).
	if err := removeSandboxNetNS(sb); err != nil {
		errs = append(errs, err)
	}
	s.dropLocked(sb)
	if err := s.releaseSandboxLocked(ctx, sb); err != nil {
		errs = append(errs, err)
	}
	if err := s.db.Delete(bucketSandboxes, sb.rec.ContainerID); err != nil {
		errs = append(errs, err)
	}
	s.refreshDNSLocked()
	return errors.Join(errs...)
}

// dropLocked takes sb out of the live sandboxes; a record change of its
// connect not committed yet then writes nothing (putRecordOp).
func (s *Service) dropLocked(sb *sandbox) {
	delete(s.sandboxes, sb.rec.ContainerID)
	sb.gone.Store(true)
}

// removeSandboxNetNS removes sb's network namespace mount, if it has one.
func removeSandboxNetNS(sb *sandbox) error {
	if sb.rec.NetNS == "" {
		return nil
	}
	return removeNetNS(sb.rec.NetNS)
}

// releaseSandboxLocked gives back what a torn-down sandbox, already out of
// s.sandboxes, held: its veths (deleted in the background), addresses,
// and published ports (the rules rewritten without them). Caller holds
// s.mu.
func (s *Service) releaseSandboxLocked(ctx context.Context, sb *sandbox) error {
	s.deleteVethsLater(sb)
	s.releaseLocked(sb)
	if len(sb.rec.Ports) == 0 {
		return nil
	}
	return s.applyPortRules(ctx)
}

// Disconnect tears down the container's network: DNS, veths, netns mount,
// addresses, published ports and their rules. Unknown containers are fine.
// The namespace's mount is gone when it returns.
func (s *Service) Disconnect(ctx context.Context, containerID string) error {
	op, err := s.DisconnectDeferred(ctx, containerID)
	s.awaitNetNSRemoval(filepath.Join(s.netns, containerID))
	if op != nil {
		if cerr := s.db.Update(op); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return err
}

// DisconnectDeferred is Disconnect for a container whose run has ended,
// but for the commit that deletes the sandbox's record and the removal of
// its namespace's mount. It returns that change (nil without a sandbox)
// for the caller to commit with its own, the container's exit or removal,
// in one commit instead of two. Until then a crash leaves the record, and
// the next start's Reconcile tears down what is left of a sandbox whose
// container does not run (all of it, here). The change deletes the record
// only while it still is this sandbox's, so committing it late never drops
// a later run's.
//
// The container's addresses and published ports are free when it
// returns (a `run --rm -p P` answered, `run -p P` gets P), and its name
// is out of the embedded DNS. The mount goes in the background
// (removeNetNSLater): the unmount waits for an RCU grace period, which the
// client waiting for the exit need not; the same container's next Connect
// waits for it, as its namespace takes the same path. Nothing of the
// ended run uses the namespace any longer; its veths go in the background
// too (deleteVethsLater), as they did when the mount went first, since
// the kernel destroys a namespace after its last reference goes, not at
// the unmount. The caller serialises Connect and Disconnect of one
// container (the container's own lock).
func (s *Service) DisconnectDeferred(ctx context.Context, containerID string) (store.Op, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.sandboxes[containerID]
	if sb == nil {
		return nil, nil
	}
	s.dropLocked(sb)
	if sb.dns != nil {
		sb.dns.Close()
		sb.dns = nil
	}
	s.refreshDNSLocked()
	err := s.releaseSandboxLocked(ctx, sb)
	s.removeNetNSLater(sb)
	return deleteRecordOp(sb.rec), err
}

// deleteRecordOp deletes rec's sandbox record if the stored one still is
// rec (a missing record is fine).
func deleteRecordOp(rec sandboxRecord) store.Op {
	want, merr := json.Marshal(rec)
	key := []byte(rec.ContainerID)
	return func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketSandboxes))
		if merr != nil {
			return merr
		}
		if got := b.Get(key); got == nil || !bytes.Equal(got, want) {
			return nil
		}
		return b.Delete(key)
	}
}

// Attached returns the current attachment of a connected container, or nil.
func (s *Service) Attached(containerID string) *Attachment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sb := s.sandboxes[containerID]
	if sb == nil {
		return nil
	}
	return s.attachmentLocked(sb)
}

// ConnectNetwork attaches a running container to one more bridge network
// (docker network connect): a new ethN in its netns.
func (s *Service) ConnectNetwork(ctx context.Context, containerID, netRef string, ep *network.EndpointSettings) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.lookup(netRef)
	if err != nil {
		return err
	}
	sb := s.sandboxes[containerID]
	if sb == nil {
		return errdefs.Conflict("container %s is not running: its network is connected when it starts", shortID(containerID))
	}
	if n.rec.Driver == "host" || sb.rec.Mode == "host" {
		return errdefs.Forbidden("container cannot be disconnected from host network or connected to host network")
	}
	if n.rec.Driver != "bridge" || sb.rec.Mode != "bridge" {
		return errdefs.Forbidden("container sharing network namespace with another container or host cannot be connected to any other network")
	}
	if sb.rec.Sandboxed {
		// runsc's netstack takes the namespace's interfaces once, at boot:
		// a veth added later would never carry the sandbox's traffic.
		return errdefs.Conflict("container %s runs in a sandbox (runsc), whose network stack is fixed when it starts: it cannot join network %s while running; stop it, connect it, and start it again", shortID(containerID), n.rec.Name)
	}
	for _, e := range sb.rec.Endpoints {
		if e.NetworkID == n.rec.ID {
			return errdefs.Forbidden("endpoint with name %s already exists in network %s", sb.rec.Name, n.rec.Name)
		}
	}
	mac := ""
	if ep != nil && ep.MacAddress != nil {
		mac = ep.MacAddress.String()
	}
	rec, spec, err := s.allocateLocked(sb, n, ep, nextIfName(sb), mac, len(sb.rec.Endpoints) == 0)
	if err != nil {
		return err
	}
	sb.rec.Endpoints = append(sb.rec.Endpoints, rec)
	undo := func() {
		sb.rec.Endpoints = sb.rec.Endpoints[:len(sb.rec.Endpoints)-1]
		n.pool.Release(rec.IP)
		if n.pool6 != nil && rec.IPv6.IsValid() {
			n.pool6.Release(rec.IPv6)
		}
		deleteLink(rec.HostVeth)
		s.db.Put(bucketSandboxes, sb.rec.ContainerID, sb.rec)
	}
	if err := s.db.Put(bucketSandboxes, sb.rec.ContainerID, sb.rec); err != nil {
		undo()
		return err
	}
	conns, err := s.wireLocked(sb, false, nil, []endpointPlan{{n, ep}}, []linkSpec{spec}, sb.dns == nil && s.needsDNS(sb))
	if err != nil {
		undo()
		return err
	}
	if conns != nil {
		sb.dns = s.startDNS(sb.rec.ContainerID, conns)
	}
	s.refreshDNSLocked()
	return nil
}

// nextIfName is the first interface name ethN the sandbox does not use.
func nextIfName(sb *sandbox) string {
	used := map[string]bool{}
	for _, e := range sb.rec.Endpoints {
		used[e.IfName] = true
	}
	ifname := "eth0"
	for i := 0; used[ifname]; i++ {
		ifname = fmt.Sprintf("eth%d", i)
	}
	return ifname
}

// DisconnectNetwork detaches a running container from one network (docker
// network disconnect). Ports published on that network go with it.
func (s *Service) DisconnectNetwork(ctx context.Context, containerID, netRef string, force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.lookup(netRef)
	if err != nil {
		return err
	}
	sb := s.sandboxes[containerID]
	if sb == nil {
		if force {
			return nil
		}
		return errdefs.Conflict("container %s is not running: disconnect it from networks in its configuration", shortID(containerID))
	}
	if n.rec.Driver == "host" || sb.rec.Mode == "host" {
		return errdefs.Forbidden("container cannot be disconnected from host network or connected to host network")
	}
	idx := -1
	for i, e := range sb.rec.Endpoints {
		if e.NetworkID == n.rec.ID {
			idx = i
		}
	}
	if idx < 0 {
		return errdefs.Forbidden("container %s is not connected to network %s", shortID(containerID), n.rec.Name)
	}
	if sb.rec.Mode == "none" {
		return errdefs.Forbidden("container %s cannot be disconnected from network none while running", shortID(containerID))
	}
	ep := sb.rec.Endpoints[idx]
	if err := deleteLink(ep.HostVeth); err != nil {
		return err
	}
	n.pool.Release(ep.IP)
	if n.pool6 != nil && ep.IPv6.IsValid() {
		n.pool6.Release(ep.IPv6)
	}
	sb.rec.Endpoints = slices.Delete(sb.rec.Endpoints, idx, idx+1)
	var kept []portRecord
	for _, p := range sb.rec.Ports {
		if p.NetworkID != n.rec.ID {
			kept = append(kept, p)
		}
	}
	portsChanged := len(kept) != len(sb.rec.Ports)
	sb.rec.Ports = kept
	if portsChanged && len(kept) == 0 {
		closeAll(sb.reservations)
		sb.reservations = nil
	}
	if err := s.db.Put(bucketSandboxes, sb.rec.ContainerID, sb.rec); err != nil {
		return err
	}
	if sb.dns != nil && !s.needsDNS(sb) {
		sb.dns.Close()
		sb.dns = nil
	}
	s.refreshDNSLocked()
	if portsChanged {
		return s.applyPortRules(ctx)
	}
	return nil
}
