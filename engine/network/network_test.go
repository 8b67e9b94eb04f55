package network

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/moby/moby/api/types/network"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestMACFromIP(t *testing.T) {
	if got := macFromIP(netip.MustParseAddr("172.17.0.2")).String(); got != "02:42:ac:11:00:02" {
		t.Fatalf("mac = %s", got)
	}
}

func TestPortSpecs(t *testing.T) {
	any4 := netip.IPv4Unspecified()
	bindings := network.PortMap{
		network.MustParsePort("80/tcp"):  {{HostPort: "8080"}},
		network.MustParsePort("53/udp"):  {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "5353"}},
		network.MustParsePort("443/tcp"): {{HostPort: ""}},
		network.MustParsePort("90/tcp"):  {{HostPort: "9000-9010"}},
		network.MustParsePort("91/tcp"):  {{HostIP: netip.MustParseAddr("::"), HostPort: "91"}},
	}
	exposed := network.PortSet{network.MustParsePort("80/tcp"): {}, network.MustParsePort("7000/tcp"): {}}
	specs, only, err := portSpecs(bindings, false, exposed, any4)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range specs {
		got = append(got, s.HostIP.String()+":"+itoa(int(s.HostLo))+"-"+itoa(int(s.HostHi))+"->"+s.Port.String())
	}
	// An explicit IPv6 host address is kept (publishLocked refuses it on
	// IPv4-only networks); only bindings without an address are Dual.
	want := "127.0.0.1:5353-5353->53/udp 0.0.0.0:8080-8080->80/tcp 0.0.0.0:9000-9010->90/tcp :::91-91->91/tcp 0.0.0.0:0-0->443/tcp"
	for _, s := range specs {
		if s.Dual != (!s.HostIP.Is6() && s.HostIP.IsUnspecified()) {
			t.Errorf("spec %v: Dual = %v", s, s.Dual)
		}
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("specs = %v\nwant    %s", got, want)
	}
	if len(only) != 1 || only[0].String() != "7000/tcp" {
		t.Fatalf("exposed only = %v", only)
	}
	// -P publishes every exposed port on a free host port.
	specs, only, _ = portSpecs(nil, true, exposed, any4)
	if len(specs) != 2 || len(only) != 0 || specs[0].HostLo != 0 {
		t.Fatalf("-P specs = %+v, only = %v", specs, only)
	}
	if _, _, err := portSpecs(network.PortMap{network.MustParsePort("80/tcp"): {{HostPort: "90-80"}}}, false, nil, any4); err == nil {
		t.Fatal("reversed host range accepted")
	}
}

func TestReservePortConflict(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	c, port, err := reservePort("tcp", lo, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if port < 1024 {
		t.Fatalf("ephemeral port %d", port)
	}
	_, _, err = bindSpec(portSpec{Port: network.MustParsePort("80/tcp"), HostIP: lo, HostLo: port, HostHi: port})
	if err == nil || !strings.Contains(err.Error(), "port is already allocated") {
		t.Fatalf("second bind: %v", err)
	}
	// A range skips the taken port.
	c2, got, err := bindSpec(portSpec{Port: network.MustParsePort("80/tcp"), HostIP: lo, HostLo: port, HostHi: port + 1})
	if err != nil || got != port+1 {
		t.Fatalf("range bind = %d, %v", got, err)
	}
	c2.Close()
}

func TestDefaultBridgeAndModes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	list, err := e.s.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range list {
		names = append(names, n.Name+"/"+n.Driver)
	}
	if strings.Join(names, " ") != "bridge/bridge host/host none/null" {
		t.Fatalf("networks = %v", names)
	}
	br, err := e.s.Inspect(ctx, "bridge", false)
	if err != nil {
		t.Fatal(err)
	}
	if br.IPAM.Config[0].Subnet.String() != testNet+".0.0/24" || br.Options["com.docker.network.bridge.name"] != testBridge(0) {
		t.Fatalf("bridge = %+v", br)
	}
	if err := e.s.Remove(ctx, "bridge"); err == nil || !strings.Contains(err.Error(), "pre-defined network and cannot be removed") {
		t.Fatalf("remove bridge: %v", err)
	}
	if _, err := e.s.Inspect(ctx, "nope", false); err == nil || err.Error() != "network nope not found" {
		t.Fatalf("inspect missing: %v", err)
	}

	// Without --subnet a network gets the first free default-pool subnet.
	id, _, err := e.s.Create(ctx, network.CreateRequest{Name: "tauto"})
	if err != nil {
		t.Fatal(err)
	}
	auto, _ := e.s.Inspect(ctx, id[:12], false)
	if auto.IPAM.Config[0].Subnet.String() != testNet+".64.0/24" || auto.IPAM.Config[0].Gateway.String() != testNet+".64.1" {
		t.Errorf("auto subnet = %+v", auto.IPAM.Config)
	}
	if err := e.s.Remove(ctx, "tauto"); err != nil {
		t.Fatal(err)
	}

	a, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "c-none", NetworkMode: "none"})
	if err != nil {
		t.Fatal(err)
	}
	links, def := routesIn(t, a.NetNSPath)
	if strings.Join(links, ",") != "lo" || def != "" {
		t.Fatalf("none netns: links %v default %q", links, def)
	}
	h, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "c-host", NetworkMode: "host"})
	if err != nil || h.NetNSPath != "" || h.Networks["host"] == nil {
		t.Fatalf("host: %+v %v", h, err)
	}
	for _, id := range []string{"c-none", "c-host"} {
		if err := e.s.Disconnect(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(a.NetNSPath); !os.IsNotExist(err) {
		t.Fatalf("none netns left behind: %v", err)
	}
}

func TestBridgeConnectivityAndPorts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "aaaaaaaaaaaa1", ContainerName: "/a", Hostname: "ha"})
	if err != nil {
		t.Fatal(err)
	}
	ea := a.Networks["bridge"]
	if ea == nil || ea.IPAddress.String() != testNet+".0.2" || ea.IPPrefixLen != 24 || ea.Gateway.String() != testNet+".0.1" ||
		ea.MacAddress.String() != macOf(ea.IPAddress) || ea.NetworkID == "" || ea.EndpointID == "" {
		t.Fatalf("endpoint = %+v", ea)
	}
	if len(a.HostsEntries) != 1 || a.HostsEntries[0] != testNet+".0.2\tha" || a.Nameservers != nil {
		t.Fatalf("hosts %v ns %v", a.HostsEntries, a.Nameservers)
	}
	links, def := routesIn(t, a.NetNSPath)
	if def != testNet+".0.1" || !strings.Contains(strings.Join(links, ","), "eth0") {
		t.Fatalf("links %v default via %q", links, def)
	}
	again, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "aaaaaaaaaaaa1"})
	if err != nil || again.Networks["bridge"].IPAddress != ea.IPAddress {
		t.Fatalf("second Connect: %+v %v", again, err)
	}
	b, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "bbbbbbbbbbbb1", ContainerName: "b"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "cccccccccccc1", ContainerName: "c",
		PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{}}},
		ExposedPorts: network.PortSet{network.MustParsePort("80/tcp"): {}, network.MustParsePort("81/tcp"): {}}})
	if err != nil {
		t.Fatal(err)
	}
	serveIn(t, a.NetNSPath, "0.0.0.0:80", "from-a")
	serveIn(t, c.NetNSPath, "0.0.0.0:80", "from-c")
	aIP := ea.IPAddress.String()

	if got, err := dialIn(b.NetNSPath, "tcp4", aIP+":80"); err != nil || got != "from-a" {
		t.Errorf("container to container: %q %v", got, err)
	}
	if got, err := dialIn("", "tcp4", aIP+":80"); err != nil || got != "from-a" {
		t.Errorf("host to container: %q %v", got, err)
	}
	pb := c.Ports[network.MustParsePort("80/tcp")]
	if len(pb) != 1 || pb[0].HostPort == "" || pb[0].HostIP.String() != "0.0.0.0" {
		t.Fatalf("ports = %v", c.Ports)
	}
	if v, ok := c.Ports[network.MustParsePort("81/tcp")]; !ok || v != nil {
		t.Errorf("exposed-only port should be present as null: %v", c.Ports)
	}
	hp := pb[0].HostPort
	if got, err := dialIn("", "tcp4", "127.0.0.1:"+hp); err != nil || got != "from-c" {
		t.Errorf("published port on 127.0.0.1:%s: %q %v", hp, got, err)
	}
	if got, err := dialIn("", "tcp4", testNet+".0.1:"+hp); err != nil || got != "from-c" {
		t.Errorf("published port on the host's bridge address: %q %v", got, err)
	}
	if got, err := dialIn(b.NetNSPath, "tcp4", testNet+".0.1:"+hp); err != nil || got != "from-c" {
		t.Errorf("hairpin from a neighbour: %q %v", got, err)
	}
	if got, err := dialIn(c.NetNSPath, "tcp4", testNet+".0.1:"+hp); err != nil || got != "from-c" {
		t.Errorf("hairpin to itself: %q %v", got, err)
	}
	// An explicit host port already taken is refused in Docker's words.
	_, err = e.s.Connect(ctx, ConnectRequest{ContainerID: "dddddddddddd1", ContainerName: "d",
		PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{HostPort: hp}}}})
	if err == nil || !strings.Contains(err.Error(), "port is already allocated") {
		t.Errorf("duplicate host port: %v", err)
	}
	if e.s.Attached("dddddddddddd1") != nil {
		t.Error("failed Connect left a sandbox")
	}
	// The published port stops answering after Disconnect.
	if err := e.s.Disconnect(ctx, "cccccccccccc1"); err != nil {
		t.Fatal(err)
	}
	if got, err := dialIn("", "tcp4", "127.0.0.1:"+hp); err == nil && got == "from-c" {
		t.Errorf("published port still forwarded after Disconnect")
	}
}

func TestUserNetworksIsolationDNSInternal(t *testing.T) {
	e := newEnv(t)
	e.bridges = append(e.bridges, testBridge(1), testBridge(2), testBridge(3))
	ctx := context.Background()
	// Unknown names go to the host's resolvers: here a loopback fake.
	up, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upSrv := &dns.Server{PacketConn: up, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(192, 0, 2, 7)})
		w.WriteMsg(m)
	})}
	go upSrv.ActivateAndServe()
	t.Cleanup(func() { upSrv.Shutdown() })
	e.s.upstreams = func() []string { return []string{up.LocalAddr().String()} }
	mk := func(name, subnet, br string, internal bool, opts map[string]string) string {
		o := map[string]string{"com.docker.network.bridge.name": br}
		for k, v := range opts {
			o[k] = v
		}
		id, _, err := e.s.Create(ctx, network.CreateRequest{Name: name, Driver: "bridge", Internal: internal, Options: o,
			Labels: map[string]string{"test": name},
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix(subnet)}}}})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return id
	}
	mk("tnet1", testNet+".1.0/24", testBridge(1), false, nil)
	mk("tnet2", testNet+".2.0/24", testBridge(2), false, nil)
	mk("tint", testNet+".3.0/24", testBridge(3), true, nil)
	if _, _, err := e.s.Create(ctx, network.CreateRequest{Name: "tnet1"}); err == nil {
		t.Error("duplicate name accepted")
	}
	if _, _, err := e.s.Create(ctx, network.CreateRequest{Name: "tover", IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix(testNet + ".1.128/25")}}}}); err == nil {
		t.Error("overlapping subnet accepted")
	}

	x, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "xxxxxxxxxxxx1", ContainerName: "alpha", NetworkMode: "tnet1",
		Endpoints: map[string]*network.EndpointSettings{"tnet1": {Aliases: []string{"db"}, IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr(testNet + ".1.50")}}}})
	if err != nil {
		t.Fatal(err)
	}
	xe := x.Networks["tnet1"]
	if xe.IPAddress.String() != testNet+".1.50" || len(x.Nameservers) != 1 || x.Nameservers[0] != "127.0.0.11" {
		t.Fatalf("x = %+v, ns %v", xe, x.Nameservers)
	}
	if strings.Join(xe.DNSNames, ",") != "alpha,db,xxxxxxxxxxxx" {
		t.Fatalf("DNSNames = %v", xe.DNSNames)
	}
	if _, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "dup", NetworkMode: "tnet1",
		Endpoints: map[string]*network.EndpointSettings{"tnet1": {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr(testNet + ".1.50")}}}}); err == nil {
		t.Error("duplicate --ip accepted")
	}
	y, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "yyyyyyyyyyyy1", ContainerName: "beta", NetworkMode: "tnet1"})
	if err != nil {
		t.Fatal(err)
	}
	z, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "zzzzzzzzzzzz1", ContainerName: "gamma", NetworkMode: "tnet2"})
	if err != nil {
		t.Fatal(err)
	}
	serveIn(t, x.NetNSPath, "0.0.0.0:80", "from-x")
	if got, err := dialIn(y.NetNSPath, "tcp4", testNet+".1.50:80"); err != nil || got != "from-x" {
		t.Errorf("same network: %q %v", got, err)
	}
	if got, err := dialIn(z.NetNSPath, "tcp4", testNet+".1.50:80"); err == nil {
		t.Errorf("other network reached tnet1: %q", got)
	}

	// Embedded DNS inside y: names and aliases of tnet1, not of tnet2.
	// Unknown names go to the host's resolvers (here a loopback fake).
	query := func(ns, name string) (string, int) {
		var conn net.Conn
		err := inNetNS(ns, false, func(netns.NsHandle) error {
			var err error
			conn, err = net.Dial("udp4", "127.0.0.11:53")
			return err
		})
		if err != nil {
			t.Fatalf("dial embedded DNS: %v", err)
		}
		defer conn.Close()
		c := &dns.Conn{Conn: conn}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeA)
		conn.SetDeadline(time.Now().Add(3 * time.Second))
		if err := c.WriteMsg(m); err != nil {
			t.Fatal(err)
		}
		r, err := c.ReadMsg()
		if err != nil {
			t.Fatalf("query %s: %v", name, err)
		}
		var ips []string
		for _, a := range r.Answer {
			if aa, ok := a.(*dns.A); ok {
				ips = append(ips, aa.A.String())
			}
		}
		return strings.Join(ips, ","), r.Rcode
	}
	if got, _ := query(y.NetNSPath, "alpha"); got != testNet+".1.50" {
		t.Errorf("alpha = %q", got)
	}
	if got, _ := query(y.NetNSPath, "DB"); got != testNet+".1.50" {
		t.Errorf("alias db = %q", got)
	}
	if got, _ := query(z.NetNSPath, "alpha"); got == testNet+".1.50" {
		t.Errorf("tnet2 resolved a tnet1 name")
	}
	if got, _ := query(y.NetNSPath, "example.test"); got != "192.0.2.7" {
		t.Errorf("forwarded name = %q", got)
	}

	// docker network connect/disconnect while running: y joins tnet2 and resolves gamma.
	if err := e.s.ConnectNetwork(ctx, "yyyyyyyyyyyy1", "tnet2", &network.EndpointSettings{Aliases: []string{"b2"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := query(y.NetNSPath, "gamma"); got != z.Networks["tnet2"].IPAddress.String() {
		t.Errorf("after connect, gamma = %q", got)
	}
	if err := e.s.ConnectNetwork(ctx, "yyyyyyyyyyyy1", "tnet2", nil); err == nil {
		t.Error("second connect to the same network accepted")
	}
	if err := e.s.Remove(ctx, "tnet2"); err == nil || !strings.Contains(err.Error(), "has active endpoints") {
		t.Errorf("remove in-use network: %v", err)
	}
	if err := e.s.DisconnectNetwork(ctx, "yyyyyyyyyyyy1", "tnet2", false); err != nil {
		t.Fatal(err)
	}
	if links, _ := routesIn(t, y.NetNSPath); strings.Contains(strings.Join(links, ","), "eth1") {
		t.Errorf("eth1 still in y after disconnect: %v", links)
	}
	insp, _ := e.s.Inspect(ctx, "tnet1", false)
	if len(insp.Containers) != 2 || insp.Containers["xxxxxxxxxxxx1"].Name != "alpha" {
		t.Errorf("inspect containers = %+v", insp.Containers)
	}

	// --internal: no default route, no masquerade.
	in, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "iiiiiiiiiiii1", ContainerName: "inner", NetworkMode: "tint"})
	if err != nil {
		t.Fatal(err)
	}
	if _, def := routesIn(t, in.NetNSPath); def != "" {
		t.Errorf("internal network container has a default route via %s", def)
	}
	nat, _ := exec.Command("iptables-save", "-t", "nat").Output()
	if strings.Contains(string(nat), "-s "+testNet+".3.0/24 ! -o "+testBridge(3)+" -j MASQUERADE") {
		t.Error("internal network is masqueraded")
	}

	// enable_icc=false: containers of the network cannot reach each other.
	e.bridges = append(e.bridges, testBridge(4))
	mk("tnoicc", testNet+".4.0/24", testBridge(4), false, map[string]string{"com.docker.network.bridge.enable_icc": "false"})
	p, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "pppppppppppp1", NetworkMode: "tnoicc"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "qqqqqqqqqqqq1", NetworkMode: "tnoicc"})
	if err != nil {
		t.Fatal(err)
	}
	serveIn(t, p.NetNSPath, "0.0.0.0:80", "from-p")
	if got, err := dialIn(q.NetNSPath, "tcp4", p.Networks["tnoicc"].IPAddress.String()+":80"); err == nil {
		t.Errorf("icc=false network let containers talk: %q", got)
	}
	if got, err := dialIn("", "tcp4", p.Networks["tnoicc"].IPAddress.String()+":80"); err != nil || got != "from-p" {
		t.Errorf("host to icc=false container: %q %v", got, err)
	}
	e.s.Disconnect(ctx, "pppppppppppp1")
	e.s.Disconnect(ctx, "qqqqqqqqqqqq1")

	l, _ := e.s.List(ctx, map[string][]string{"label": {"test=tnet1"}})
	if len(l) != 1 || l[0].Name != "tnet1" {
		t.Errorf("label filter = %v", l)
	}
	for _, id := range []string{"xxxxxxxxxxxx1", "yyyyyyyyyyyy1", "zzzzzzzzzzzz1", "iiiiiiiiiiii1"} {
		e.s.Disconnect(ctx, id)
	}
	rep, err := e.s.Prune(ctx, map[string][]string{"label": {"test"}})
	if err != nil || len(rep.NetworksDeleted) != 4 {
		t.Errorf("prune = %v, %v", rep, err)
	}
}

func TestDisconnectLeavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := kernelState(t)
	for i := 0; i < 3; i++ {
		id := "leak" + itoa(i)
		a, err := e.s.Connect(ctx, ConnectRequest{ContainerID: id, ContainerName: id,
			PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{}}, network.MustParsePort("53/udp"): {{}}}})
		if err != nil {
			t.Fatal(err)
		}
		if kernelState(t) == before {
			t.Fatal("Connect changed nothing observable")
		}
		if err := e.s.Disconnect(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := e.s.Disconnect(ctx, id); err != nil {
			t.Fatalf("second Disconnect: %v", err)
		}
		e.s.settle()
		if after := kernelState(t); after != before {
			t.Fatalf("state differs after Disconnect:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if _, err := os.Stat(a.NetNSPath); !os.IsNotExist(err) {
			t.Fatalf("netns mount left: %v", err)
		}
		e.s.mu.RLock()
		inUse := e.s.byName("bridge").pool.InUse(a.Networks["bridge"].IPAddress)
		e.s.mu.RUnlock()
		if inUse {
			t.Fatal("address not released")
		}
	}
}

func TestReconcileAfterCrashAndIPAMPersistence(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	live, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "live1", ContainerName: "live",
		PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{}}}})
	if err != nil {
		t.Fatal(err)
	}
	dead, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "dead1", ContainerName: "dead",
		PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{}}}})
	if err != nil {
		t.Fatal(err)
	}
	serveIn(t, live.NetNSPath, "0.0.0.0:80", "still-here")
	hp := live.Ports[network.MustParsePort("80/tcp")][0].HostPort
	// "Crash": drop the service without Disconnect, add a duplicate jump as a
	// crash in the middle of EnsureJumps might, and restart a few times.
	e.s.Close()
	exec.Command("iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-j", testChains+"-POSTROUTING").Run()
	for i := 0; i < 3; i++ {
		e.s = e.open()
	}
	// The recorded allocations survive the restart.
	other, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "new1"})
	if err != nil {
		t.Fatal(err)
	}
	ip := other.Networks["bridge"].IPAddress
	if ip == live.Networks["bridge"].IPAddress || ip == dead.Networks["bridge"].IPAddress {
		t.Fatalf("address %s handed out twice across a restart", ip)
	}
	if err := e.s.Reconcile(ctx, []string{"live1", "new1"}); err != nil {
		t.Fatal(err)
	}
	if e.s.Attached("dead1") != nil || e.s.Attached("live1") == nil {
		t.Fatal("reconcile kept the wrong sandboxes")
	}
	if _, err := os.Stat(dead.NetNSPath); !os.IsNotExist(err) {
		t.Error("dead container's netns left")
	}
	e.s.settle()
	if v := staleVeths([]string{testBridge(0)}, nil); len(v) != 2 {
		t.Errorf("veths on the bridge after reconcile: %v, want the 2 live ones", v)
	}
	state := kernelState(t)
	for _, rule := range []string{
		"-A POSTROUTING -j " + testChains + "-POSTROUTING",
		"-A FORWARD -j " + testChains + "-FORWARD",
		"-A OUTPUT -m addrtype --dst-type LOCAL -j " + testChains,
		"--to-destination " + live.Networks["bridge"].IPAddress.String() + ":80",
		"-A " + testChains + "-POSTROUTING -s " + testNet + ".0.0/24 ! -o " + testBridge(0) + " -j MASQUERADE",
	} {
		if n := strings.Count(state, rule); n != 1 {
			t.Errorf("%q appears %d times after reconcile", rule, n)
		}
	}
	if strings.Contains(state, dead.Networks["bridge"].IPAddress.String()+":80") {
		t.Error("dead container's port rule left")
	}
	if got, err := dialIn("", "tcp4", "127.0.0.1:"+hp); err != nil || got != "still-here" {
		t.Errorf("live container's published port after restart: %q %v", got, err)
	}
	// A second reconcile changes nothing.
	if err := e.s.Reconcile(ctx, []string{"live1", "new1"}); err != nil {
		t.Fatal(err)
	}
	e.s.settle()
	if again := kernelState(t); again != state {
		t.Errorf("second reconcile changed state:\n%s\n---\n%s", state, again)
	}
}

func TestConnectLatency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 20
	var total, totalDis time.Duration
	for i := 0; i < n; i++ {
		id := "lat" + itoa(i)
		t0 := time.Now()
		if _, err := e.s.Connect(ctx, ConnectRequest{ContainerID: id}); err != nil {
			t.Fatal(err)
		}
		total += time.Since(t0)
		t0 = time.Now()
		if err := e.s.Disconnect(ctx, id); err != nil {
			t.Fatal(err)
		}
		totalDis += time.Since(t0)
	}
	t.Logf("Connect (default bridge, no ports): %v average; Disconnect %v", total/n, totalDis/n)
	var tp time.Duration
	for i := 0; i < n; i++ {
		id := "latp" + itoa(i)
		t0 := time.Now()
		if _, err := e.s.Connect(ctx, ConnectRequest{ContainerID: id, PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{}}}}); err != nil {
			t.Fatal(err)
		}
		tp += time.Since(t0)
		e.s.Disconnect(ctx, id)
	}
	t.Logf("Connect with one published port: %v average", tp/n)
}

func BenchmarkConnect(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := "bench" + itoa(i)
		if _, err := e.s.Connect(ctx, ConnectRequest{ContainerID: id}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		e.s.Disconnect(ctx, id)
		b.StartTimer()
	}
}

// TestReservePort6 holds a port on [::] without taking it on 0.0.0.0 (the
// two are reserved separately), and a second [::] reservation fails.
func TestReservePort6(t *testing.T) {
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		t.Skip("IPv6 disabled")
	}
	c6, port, err := reservePort("tcp", netip.IPv6Unspecified(), 0)
	if err != nil || port == 0 {
		t.Fatalf("reserve [::]:0: %v", err)
	}
	defer c6.Close()
	if _, _, err := reservePort("tcp", netip.IPv6Unspecified(), port); err == nil {
		t.Fatalf("[::]:%d reserved twice", port)
	}
	c4, _, err := reservePort("tcp", netip.IPv4Unspecified(), port)
	if err != nil {
		t.Fatalf("0.0.0.0:%d after [::]: %v", port, err)
	}
	c4.Close()
}

// TestHostVethHasNoIPv6Address: a container's host-side veth is a bridge
// port and gets no IPv6 link-local address (no DAD/MLD per container, no
// address change seen on the host for each container started).
func TestHostVethHasNoIPv6Address(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/net/ipv6/conf/all/disable_ipv6"); err != nil || strings.TrimSpace(string(b)) != "0" {
		t.Skip("IPv6 is off on this host")
	}
	e := newEnv(t)
	if _, err := e.s.Connect(context.Background(), ConnectRequest{ContainerID: "eeeeeeeeeeee1", ContainerName: "e"}); err != nil {
		t.Fatal(err)
	}
	veths := staleVeths([]string{testBridge(0)}, nil)
	if len(veths) != 1 {
		t.Fatalf("bridge ports = %v, want the one veth", veths)
	}
	mode, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + veths[0] + "/addr_gen_mode")
	if err != nil || strings.TrimSpace(string(mode)) != "1" {
		t.Fatalf("%s: addr_gen_mode %q (%v), want 1 (none)", veths[0], mode, err)
	}
}

// TestIPv4EndpointHasIPv6Off: the container end of a veth on a network
// without IPv6 has IPv6 off from the start (no link-local address, DAD or
// MLD for the host's kernel threads to handle per container), as Docker
// leaves it; for a new namespace and for a pooled one alike. Loopback
// keeps ::1.
func TestIPv4EndpointHasIPv6Off(t *testing.T) {
	if IPv6Status() != "" {
		t.Skip(IPv6Status())
	}
	withAndWithoutPool(t, "ipv6off", func(t *testing.T, s *Service, id string) {
		a, err := s.Connect(context.Background(), ConnectRequest{ContainerID: id, ContainerName: id})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		var addrs []netlink.Addr
		err = inNetNS(a.NetNSPath, false, func(netns.NsHandle) error {
			for _, l := range []string{"eth0", "lo"} {
				b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + l + "/disable_ipv6")
				if err != nil {
					return err
				}
				got[l] = strings.TrimSpace(string(b))
			}
			eth0, err := netlink.LinkByName("eth0")
			if err != nil {
				return err
			}
			addrs, err = netlink.AddrList(eth0, netlink.FAMILY_V6)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got["eth0"] != "1" || got["lo"] != "0" || len(addrs) != 0 {
			t.Fatalf("disable_ipv6 %v, eth0's IPv6 addresses %v; want eth0 1, lo 0, none", got, addrs)
		}
	})
}

// TestVethHasOneQueue: both ends of a container's veth pair are made with
// one queue each way, as the kernel would leave them in use anyway, so
// that making one does not wait for RCU grace periods under the RTNL lock
// (see addVeth); for a new namespace and for a pooled one alike.
func TestVethHasOneQueue(t *testing.T) {
	withAndWithoutPool(t, "queues", checkOneQueue)
}

// withAndWithoutPool runs fn as a subtest with a service that makes each
// namespace anew and with one that takes them from a full pool, each with
// a container ID of its own (prefix and the pool's size).
func withAndWithoutPool(t *testing.T, prefix string, fn func(t *testing.T, s *Service, id string)) {
	for _, pool := range []int{0, 2} {
		t.Run(fmt.Sprintf("pool%d", pool), func(t *testing.T) {
			var e *testEnv
			if pool > 0 {
				e = poolEnv(t)
				waitPoolFull(t, e.s, pool)
			} else {
				e = newEnv(t)
			}
			fn(t, e.s, fmt.Sprintf("%s%d", prefix, pool))
		})
	}
}

func checkOneQueue(t *testing.T, s *Service, id string) {
	t.Helper()
	a, err := s.Connect(context.Background(), ConnectRequest{ContainerID: id, ContainerName: id})
	if err != nil {
		t.Fatal(err)
	}
	host, err := netlink.LinkByName(s.sandboxes[id].rec.Endpoints[0].HostVeth)
	if err != nil {
		t.Fatal(err)
	}
	var inside netlink.Link
	if err := inNetNS(a.NetNSPath, false, func(netns.NsHandle) error {
		inside, err = netlink.LinkByName("eth0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []netlink.Link{host, inside} {
		if at := l.Attrs(); at.NumTxQueues != 1 || at.NumRxQueues != 1 {
			t.Errorf("%s: %s has %d tx and %d rx queues, want 1 and 1", id, at.Name, at.NumTxQueues, at.NumRxQueues)
		}
	}
}
