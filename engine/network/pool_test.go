package network

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// poolState is what the pool holds: mount points and host veths.
func poolState(s *Service) (paths, veths []string) {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	for _, e := range s.pool.entries {
		paths = append(paths, e.path)
		veths = append(veths, e.veth)
	}
	return paths, veths
}

// waitPoolFull waits until the pool holds n entries.
func waitPoolFull(t *testing.T, s *Service, n int) (paths, veths []string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		paths, veths = poolState(s)
		if len(paths) == n {
			return paths, veths
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool holds %d prepared namespaces, want %d", len(paths), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pooledLeft lists what of the given pool entries is still on the host.
func pooledLeft(paths, veths []string) []string {
	var left []string
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			left = append(left, p)
		}
	}
	for _, v := range veths {
		if _, err := netlink.LinkByName(v); err == nil {
			left = append(left, v)
		}
	}
	return left
}

// waitGone waits until nothing of the given pool entries is left (the
// kernel deletes a namespace's veths asynchronously).
func waitGone(t *testing.T, what string, paths, veths []string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		left := pooledLeft(paths, veths)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: left on the host: %v", what, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func poolEnv(t *testing.T) *testEnv {
	e := newEnv(t)
	e.s.Close()
	e.cfg.NetnsPool = 2
	e.s = e.open()
	if err := e.s.Reconcile(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return e
}

// A container's network comes from a prepared namespace: the same
// interfaces, addresses, MAC, route and bridge port as a new one, at the
// container's usual path, and RefillPool tops the pool up again.
func TestNetnsPoolServesAConnect(t *testing.T) {
	e := poolEnv(t)
	ctx := context.Background()
	paths, veths := waitPoolFull(t, e.s, 2)
	a, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "pooled1", ContainerName: "pooled"})
	if err != nil {
		t.Fatal(err)
	}
	if a.NetNSPath != filepath.Join(e.cfg.ExecRoot, "netns", "pooled1") {
		t.Errorf("netns path %s", a.NetNSPath)
	}
	hostVeth := e.s.sandboxes["pooled1"].rec.Endpoints[0].HostVeth
	i := slices.Index(veths, hostVeth)
	if i < 0 {
		t.Fatalf("host veth %s is not one of the pool's %v", hostVeth, veths)
	}
	waitGone(t, "the taken entry's own mount point", paths[i:i+1], nil)
	ep := a.Networks["bridge"]
	links, def := routesIn(t, a.NetNSPath)
	if strings.Join(links, ",") != "lo,eth0" || def != testNet+".0.1" {
		t.Errorf("links %v, default route via %q", links, def)
	}
	var mac, flags string
	inNetNS(a.NetNSPath, false, func(netns.NsHandle) error {
		l, err := netlink.LinkByName("eth0")
		if err == nil {
			mac, flags = l.Attrs().HardwareAddr.String(), l.Attrs().Flags.String()
		}
		return err
	})
	if mac != macOf(ep.IPAddress) || !strings.Contains(flags, "up") {
		t.Errorf("eth0: MAC %s flags %s, want %s and up", mac, flags, macOf(ep.IPAddress))
	}
	l, err := netlink.LinkByName(hostVeth)
	br, _ := bridgeIndex(&netlink.Handle{}, testBridge(0))
	if err != nil || l.Attrs().MasterIndex != br {
		t.Errorf("host veth %s not on the bridge: %v", hostVeth, err)
	}
	serveIn(t, a.NetNSPath, "0.0.0.0:80", "from-a-pooled-netns")
	if got, err := dialIn("", "tcp4", ep.IPAddress.String()+":80"); err != nil || got != "from-a-pooled-netns" {
		t.Errorf("the container is unreachable from the host: %q %v", got, err)
	}
	if left, _ := poolState(e.s); len(left) != 1 {
		t.Errorf("the pool holds %d entries after a connect, want 1 until RefillPool", len(left))
	}
	e.s.RefillPool()
	waitPoolFull(t, e.s, 2)
	if err := e.s.Disconnect(ctx, "pooled1"); err != nil {
		t.Fatal(err)
	}
	e.s.settle()
	waitGone(t, "after disconnect", []string{a.NetNSPath}, []string{hostVeth})
}

// A crashed daemon's pool is swept by the next Reconcile, and Close
// removes the pool it has.
func TestNetnsPoolLeavesNothing(t *testing.T) {
	e := poolEnv(t)
	crashedPaths, crashedVeths := waitPoolFull(t, e.s, 2)
	// "Crash": a new service on the same roots, the old one dropped.
	e.s = e.open()
	if err := e.s.Reconcile(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "a crashed daemon's pool after Reconcile", crashedPaths, crashedVeths)
	paths, veths := waitPoolFull(t, e.s, 2)
	e.s.Close()
	waitGone(t, "the pool after Close", paths, veths)
	ents, _ := os.ReadDir(filepath.Join(e.cfg.ExecRoot, "netns"))
	if len(ents) != 0 {
		t.Errorf("left in the netns directory: %v", ents)
	}
	e.s = nil
}

// A pooled namespace whose veth something on the host deleted (a
// clean-up script removing every veth* it did not make) is not handed to
// a start: the start gets a new namespace and veth, under the name its
// record holds, and works as without a pool.
func TestNetnsPoolSkipsAnEntryWithoutVeth(t *testing.T) {
	e := poolEnv(t)
	ctx := context.Background()
	paths, veths := waitPoolFull(t, e.s, 2)
	for _, v := range veths {
		l, err := netlink.LinkByName(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkDel(l); err != nil {
			t.Fatal(err)
		}
	}
	a, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "lostveth1", ContainerName: "lostveth"})
	if err != nil {
		t.Fatalf("connect with a broken pool entry: %v", err)
	}
	hostVeth := e.s.sandboxes["lostveth1"].rec.Endpoints[0].HostVeth
	l, err := netlink.LinkByName(hostVeth)
	br, _ := bridgeIndex(&netlink.Handle{}, testBridge(0))
	if err != nil || l.Attrs().MasterIndex != br {
		t.Fatalf("the recorded host veth %s is not on the bridge: %v", hostVeth, err)
	}
	ep := a.Networks["bridge"]
	serveIn(t, a.NetNSPath, "0.0.0.0:80", "from-a-new-netns")
	for deadline := time.Now().Add(15 * time.Second); ; {
		got, err := dialIn("", "tcp4", ep.IPAddress.String()+":80")
		if err == nil && got == "from-a-new-netns" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container is unreachable from the host: %q %v", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left := pooledLeft(paths, nil); len(left) != 1 {
		t.Errorf("mount points of the two broken entries left after one connect: %v, want the one still pooled", left)
	}
	if err := e.s.Disconnect(ctx, "lostveth1"); err != nil {
		t.Fatal(err)
	}
	e.s.settle()
	waitGone(t, "after disconnect", []string{a.NetNSPath}, []string{hostVeth})
}

// Starts that find the pool empty make it keep more entries (the next
// burst takes them ready-made); once idle it returns to its configured
// size and the entries beyond it leave the host.
func TestNetnsPoolGrowsWithTheLoad(t *testing.T) {
	e := poolEnv(t)
	ctx := context.Background()
	waitPoolFull(t, e.s, 2)
	var ids []string
	for i := 0; i < 4; i++ { // two take an entry, two find none
		id := "grow" + itoa(i)
		if _, err := e.s.Connect(ctx, ConnectRequest{ContainerID: id, ContainerName: id}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	e.s.RefillPool()
	paths, veths := waitPoolFull(t, e.s, 4)
	e.s.shrinkPool()
	kept, _ := poolState(e.s)
	if len(kept) != 2 {
		t.Fatalf("the pool holds %d entries once idle, want 2", len(kept))
	}
	var gonePaths, goneVeths []string
	for i, p := range paths {
		if !slices.Contains(kept, p) {
			gonePaths, goneVeths = append(gonePaths, p), append(goneVeths, veths[i])
		}
	}
	e.s.settle()
	waitGone(t, "entries beyond the configured size after idle", gonePaths, goneVeths)
	e.s.refillPool() // at once, as RefillPool does after its delay
	if got, _ := poolState(e.s); len(got) != 2 {
		t.Errorf("a refill after idle grew the pool to %d entries again", len(got))
	}
	for _, id := range ids {
		if err := e.s.Disconnect(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

// The bridge's index is asked once per network and kept (attachHost): a
// bridge made again under the daemon, under a new index, is asked for
// again by the next connect, whose veth ends up on the new bridge.
func TestConnectAfterBridgeMadeAgain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "brfirst", ContainerName: "brfirst"}); err != nil {
		t.Fatal(err)
	}
	n, err := e.s.lookup("bridge")
	if err != nil {
		t.Fatal(err)
	}
	old := int(n.brIndex.Load())
	if want, _ := bridgeIndex(&netlink.Handle{}, testBridge(0)); old == 0 || old != want {
		t.Fatalf("kept bridge index %d, want %d", old, want)
	}
	if err := e.s.Disconnect(ctx, "brfirst"); err != nil {
		t.Fatal(err)
	}
	if err := deleteLink(testBridge(0)); err != nil {
		t.Fatal(err)
	}
	if err := ensureBridge(&n.rec); err != nil {
		t.Fatal(err)
	}
	br, err := bridgeIndex(&netlink.Handle{}, testBridge(0))
	if err != nil || br == old {
		t.Fatalf("bridge made again has index %d (was %d): %v", br, old, err)
	}
	if _, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "brsecond", ContainerName: "brsecond"}); err != nil {
		t.Fatalf("connect after the bridge was made again: %v", err)
	}
	hostVeth := e.s.sandboxes["brsecond"].rec.Endpoints[0].HostVeth
	l, err := netlink.LinkByName(hostVeth)
	if err != nil || l.Attrs().MasterIndex != br {
		t.Errorf("host veth %s: master %v, want the new bridge %d", hostVeth, l, br)
	}
	if got := int(n.brIndex.Load()); got != br {
		t.Errorf("kept bridge index %d after the connect, want %d", got, br)
	}
	if err := e.s.Disconnect(ctx, "brsecond"); err != nil {
		t.Fatal(err)
	}
}
