package network

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/network"
)

// sandboxRecords counts the stored sandbox records of container id.
func sandboxRecords(t *testing.T, e *testEnv, id string) int {
	t.Helper()
	n := 0
	if err := e.db.ForEach(bucketSandboxes, func(k string, _ []byte) error {
		if k == id {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConnectDeferredRecord: ConnectDeferred wires the sandbox but leaves
// its record to the change it returns; that change stores it, and,
// committed after a Disconnect (a start that failed), stores nothing.
func TestConnectDeferredRecord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := "ddddddddd001"
	req := ConnectRequest{ContainerID: id, ContainerName: "/" + id, Hostname: id}
	a, op, err := e.s.ConnectDeferred(ctx, req)
	if err != nil || op == nil {
		t.Fatalf("ConnectDeferred: op %v, err %v", op != nil, err)
	}
	if _, err := os.Stat(a.NetNSPath); err != nil {
		t.Fatalf("netns not made: %v", err)
	}
	if n := sandboxRecords(t, e, id); n != 0 {
		t.Fatalf("%d records before the caller's commit, want 0", n)
	}
	if _, again, err := e.s.ConnectDeferred(ctx, req); err != nil || again != nil {
		t.Fatalf("a second connect: op %v, err %v (want the attachment alone)", again != nil, err)
	}
	if err := e.db.Update(op); err != nil {
		t.Fatal(err)
	}
	if n := sandboxRecords(t, e, id); n != 1 {
		t.Fatalf("%d records after the commit, want 1", n)
	}
	if err := e.s.Disconnect(ctx, id); err != nil {
		t.Fatal(err)
	}
	// A start that failed: disconnected before its commit.
	_, op, err = e.s.ConnectDeferred(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Disconnect(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Update(op); err != nil {
		t.Fatal(err)
	}
	if n := sandboxRecords(t, e, id); n != 0 {
		t.Fatalf("a late commit stored the record of a disconnected sandbox (%d)", n)
	}
}

// TestConnectDeferredCrash: a crash after ConnectDeferred wired a sandbox
// but before its record was committed (with the container's running
// state) leaves a namespace, veths, an address and port rules no record
// owns; the next start's Reconcile removes them all.
func TestConnectDeferredCrash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rules := func() string {
		var b strings.Builder
		for _, l := range strings.Split(kernelState(t), "\n") {
			if !strings.HasPrefix(l, "link ") {
				b.WriteString(l + "\n")
			}
		}
		return b.String()
	}
	before := rules()
	id := "ddddddddd002"
	a, _, err := e.s.ConnectDeferred(ctx, ConnectRequest{ContainerID: id, ContainerName: "/" + id, Hostname: id,
		PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{}}}})
	if err != nil {
		t.Fatal(err)
	}
	if rules() == before {
		t.Fatal("no port rule made for the published port")
	}
	// "Crash": the change is never committed; berthd starts again.
	restartClean(t, e, id, a)
	if after := rules(); after != before {
		t.Errorf("port rules left:\n%s\nwant:\n%s", after, before)
	}
}

// restartClean opens e's service again as after a crash, reconciles it
// with no container running, and checks that nothing is left of
// container id's sandbox a: record, namespace, address.
func restartClean(t *testing.T, e *testEnv, id string, a *Attachment) {
	t.Helper()
	ctx := context.Background()
	ep := a.Networks["bridge"]
	e.s.Close()
	e.s = e.open()
	if err := e.s.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if e.s.Attached(id) != nil {
		t.Fatal("the sandbox came back")
	}
	if n := sandboxRecords(t, e, id); n != 0 {
		t.Errorf("%d sandbox records left after the reconcile", n)
	}
	if _, err := os.Stat(a.NetNSPath); !os.IsNotExist(err) {
		t.Errorf("netns left: %v", err)
	}
	e.s.mu.RLock()
	inUse := e.s.nets[ep.NetworkID].pool.InUse(ep.IPAddress)
	e.s.mu.RUnlock()
	if inUse {
		t.Errorf("address %s still in use after the reconcile", ep.IPAddress)
	}
}

// TestDisconnectDeferredFreesAtOnce: when DisconnectDeferred returns (a
// container's exit, before its waiting client is answered), its address
// and its published host port are free for the next container, though its
// namespace's mount may still be going (in the background); the same
// container connected again right away gets a namespace at its path, once
// the last one's is gone.
func TestDisconnectDeferredFreesAtOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	port := freeHostPort(t)
	published := network.PortMap{network.MustParsePort("80/tcp"): {{HostPort: port}}}
	req := func(id string, ports network.PortMap) ConnectRequest {
		return ConnectRequest{ContainerID: id, ContainerName: "/" + id, Hostname: id, PortBindings: ports}
	}
	a, err := e.s.Connect(ctx, req("ddddddddd003", published))
	if err != nil {
		t.Fatal(err)
	}
	op, err := e.s.DisconnectDeferred(ctx, "ddddddddd003")
	if err != nil || op == nil {
		t.Fatalf("DisconnectDeferred: op %v, err %v", op != nil, err)
	}
	ep := a.Networks["bridge"]
	e.s.mu.RLock()
	inUse := e.s.nets[ep.NetworkID].pool.InUse(ep.IPAddress)
	e.s.mu.RUnlock()
	if inUse {
		t.Errorf("address %s still in use after DisconnectDeferred", ep.IPAddress)
	}
	// The same container again: its last namespace's mount point is its
	// new one's.
	again, err := e.s.Connect(ctx, req("ddddddddd003", nil))
	if err != nil {
		t.Fatalf("connecting the container again: %v", err)
	}
	if err := e.db.Update(op); err != nil {
		t.Fatal(err)
	}
	if links, _ := routesIn(t, again.NetNSPath); !strings.Contains(strings.Join(links, ","), "eth0") {
		t.Fatalf("no eth0 in the new namespace: %v", links)
	}
	if _, err := e.s.Connect(ctx, req("ddddddddd004", published)); err != nil {
		t.Fatalf("the next container publishing host port %s: %v", port, err)
	}
	for _, id := range []string{"ddddddddd003", "ddddddddd004"} {
		if err := e.s.Disconnect(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(again.NetNSPath); !os.IsNotExist(err) {
		t.Errorf("netns left after Disconnect: %v", err)
	}
}

// freeHostPort is a TCP port nothing on the host listens on now.
func freeHostPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
