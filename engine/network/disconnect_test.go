package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/network"
)

// TestConcurrentDisconnect connects many containers at once (run -d in
// parallel), each wired with an address of its own, then tears them down
// at once (rm -f of many): nothing is left behind (namespaces, records, addresses, published
// ports), and each container's addresses are free again afterwards.
func TestConcurrentDisconnect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 12
	ids := make([]string, n)
	netns := make([]string, n)
	type addr struct {
		net string
		ip  netip.Addr
	}
	addrs := make([]addr, n)
	var cwg sync.WaitGroup
	cerrs := make([]error, n)
	for i := range ids { // connected all at once (run -d in parallel)
		ids[i] = fmt.Sprintf("dddddddddd%02d", i)
		req := ConnectRequest{ContainerID: ids[i], ContainerName: "/" + ids[i], Hostname: ids[i]}
		if i%3 == 0 {
			req.PortBindings = network.PortMap{network.MustParsePort("80/tcp"): {{}}}
		}
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			a, err := e.s.Connect(ctx, req)
			if err != nil {
				cerrs[i] = err
				return
			}
			netns[i] = a.NetNSPath
			ep := a.Networks["bridge"]
			addrs[i] = addr{ep.NetworkID, ep.IPAddress}
		}()
	}
	cwg.Wait()
	if err := errors.Join(cerrs...); err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{}
	for i, a := range addrs {
		if seen[a.ip] {
			t.Fatalf("address %s given twice (%s)", a.ip, ids[i])
		}
		seen[a.ip] = true
		if links, _ := routesIn(t, netns[i]); !strings.Contains(strings.Join(links, ","), "eth0") {
			t.Fatalf("%s: no eth0 in its namespace: %v", ids[i], links)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range 2 * n { // each container twice: a second caller is harmless
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.s.Disconnect(ctx, ids[i%n])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("disconnect %s: %v", ids[i%n], err)
		}
	}
	for i, p := range netns {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("netns of %s left behind: %v", ids[i], err)
		}
		if e.s.Attached(ids[i]) != nil {
			t.Errorf("%s still attached", ids[i])
		}
	}
	left := 0
	if err := e.db.ForEach(bucketSandboxes, func(string, []byte) error { left++; return nil }); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d sandbox records left behind", left)
	}
	// Every address is free again.
	e.s.mu.RLock()
	pool := e.s.nets[addrs[0].net].pool
	for i, a := range addrs {
		if pool.InUse(a.ip) {
			t.Errorf("address %s of %s still in use", a.ip, ids[i])
		}
	}
	e.s.mu.RUnlock()
}

// TestDisconnectDeferredRecord: DisconnectDeferred tears the sandbox down
// but leaves its record until the caller commits the change it returns;
// that change deletes the record, and, committed late, leaves a later
// run's record of the same container alone.
func TestDisconnectDeferredRecord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := "eeeeeeeeee01"
	req := ConnectRequest{ContainerID: id, ContainerName: "/" + id, Hostname: id}
	records := func() int { return sandboxRecords(t, e, id) }
	a, err := e.s.Connect(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	op, err := e.s.DisconnectDeferred(ctx, id)
	if err != nil || op == nil {
		t.Fatalf("DisconnectDeferred: op %v, err %v", op != nil, err)
	}
	e.s.awaitNetNSRemoval(a.NetNSPath) // the mount goes in the background
	if _, err := os.Stat(a.NetNSPath); !os.IsNotExist(err) {
		t.Fatalf("netns left behind: %v", err)
	}
	if e.s.Attached(id) != nil {
		t.Fatal("still attached")
	}
	if n := records(); n != 1 {
		t.Fatalf("%d records before the caller's commit, want 1", n)
	}
	if err := e.db.Update(op); err != nil {
		t.Fatal(err)
	}
	if n := records(); n != 0 {
		t.Fatalf("%d records after the commit, want 0", n)
	}
	// A late commit does not delete the next run's record.
	if _, err := e.s.Connect(ctx, req); err != nil {
		t.Fatal(err)
	}
	op2, err := e.s.DisconnectDeferred(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Connect(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Update(op2); err != nil {
		t.Fatal(err)
	}
	if n := records(); n != 1 {
		t.Fatalf("a stale deletion removed the live run's record (%d left)", n)
	}
	if op, _ := e.s.DisconnectDeferred(ctx, "unknown"); op != nil {
		t.Fatal("a change for a container without a sandbox")
	}
	if err := e.s.Disconnect(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := records(); n != 0 {
		t.Fatalf("%d records after Disconnect, want 0", n)
	}
}

// TestDisconnectDeferredCrash: a crash after DisconnectDeferred tore a
// sandbox down but before its record's deletion was committed (the
// container's exit or removal commit) leaves a record whose namespace is
// gone; the next start's Reconcile drops it, and its address is free.
func TestDisconnectDeferredCrash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := "eeeeeeeeee02"
	a, err := e.s.Connect(ctx, ConnectRequest{ContainerID: id, ContainerName: "/" + id, Hostname: id,
		PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DisconnectDeferred(ctx, id); err != nil {
		t.Fatal(err)
	}
	// "Crash": the change is never committed; berthd starts again.
	restartClean(t, e, id, a)
}
