package network

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A reserved namespace is at the container's path at once, holds nothing
// a network shows (no sandbox, no address), and is the one its Connect
// wires; one that no longer fits is dropped, and Release removes one no
// Connect took.
func TestReserveNetNS(t *testing.T) {
	e := poolEnv(t)
	ctx := context.Background()
	path, ok, err := e.s.ReserveNetNS(ConnectRequest{ContainerID: "ahead1"})
	if err != nil || !ok {
		t.Fatalf("ReserveNetNS: %v %v", ok, err)
	}
	if want := filepath.Join(e.cfg.ExecRoot, "netns", "ahead1"); path != want {
		t.Errorf("reserved at %s, want %s", path, want)
	}
	if e.s.Attached("ahead1") != nil {
		t.Error("a reservation shows as an attachment")
	}
	e.s.pool.mu.Lock()
	veth := e.s.pool.reserved["ahead1"].veth
	e.s.pool.mu.Unlock()
	a, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "ahead1", ContainerName: "ahead"})
	if err != nil {
		t.Fatal(err)
	}
	if a.NetNSPath != path || e.s.sandboxes["ahead1"].rec.Endpoints[0].HostVeth != veth {
		t.Errorf("Connect did not take the reservation: netns %s, veth %s, want %s and %s", a.NetNSPath, e.s.sandboxes["ahead1"].rec.Endpoints[0].HostVeth, path, veth)
	}
	if err := e.s.Disconnect(ctx, "ahead1"); err != nil {
		t.Fatal(err)
	}

	// Networks it cannot serve: not reserved.
	if _, ok, _ := e.s.ReserveNetNS(ConnectRequest{ContainerID: "host1", NetworkMode: "host"}); ok {
		t.Error("reserved a namespace for a container on the host's network")
	}

	// Stale: the namespace no longer fits the container's network (here
	// its MTU).
	path, _, err = e.s.ReserveNetNS(ConnectRequest{ContainerID: "ahead2"})
	if err != nil {
		t.Fatal(err)
	}
	e.s.pool.mu.Lock()
	veth = e.s.pool.reserved["ahead2"].veth
	e.s.pool.reserved["ahead2"].mtu++
	e.s.pool.mu.Unlock()
	if _, err := e.s.Connect(ctx, ConnectRequest{ContainerID: "ahead2"}); !errors.Is(err, errReservationStale) {
		t.Errorf("Connect with a reservation that does not fit: %v, want errReservationStale", err)
		e.s.Disconnect(ctx, "ahead2")
	}
	e.s.settle()
	waitGone(t, "a stale reservation", []string{path}, []string{veth})

	path, _, _ = e.s.ReserveNetNS(ConnectRequest{ContainerID: "ahead3"})
	e.s.pool.mu.Lock()
	veth = e.s.pool.reserved["ahead3"].veth
	e.s.pool.mu.Unlock()
	if err := e.s.ReleaseNetNS("ahead3"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "a released reservation", []string{path}, []string{veth})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("released reservation's mount point: %v", err)
	}
}
