package network

import (
	"context"
	"os"
	"testing"

	"github.com/vishvananda/netlink"
)

// connectedVeth connects container id and returns its namespace's path
// and its host veth.
func connectedVeth(t *testing.T, s *Service, id string) (nsPath, veth string) {
	t.Helper()
	a, err := s.Connect(context.Background(), ConnectRequest{ContainerID: id, ContainerName: id})
	if err != nil {
		t.Fatal(err)
	}
	veth = s.sandboxes[id].rec.Endpoints[0].HostVeth
	if _, err := netlink.LinkByName(veth); err != nil {
		t.Fatalf("veth %s after connect: %v", veth, err)
	}
	return a.NetNSPath, veth
}

// TestEndedSandboxVethGoesWithItsNamespace: the host veth of an ended
// sandbox whose namespace nothing else holds goes with the namespace,
// which the kernel destroys: the daemon does not delete it itself (an
// unregistration and an RCU grace period of its own per container).
func TestEndedSandboxVethGoesWithItsNamespace(t *testing.T) {
	e := newEnv(t)
	_, veth := connectedVeth(t, e.s, "vethgoes1")
	if err := e.s.Disconnect(context.Background(), "vethgoes1"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "ended sandbox", nil, []string{veth})
	e.s.settle()
	if n := e.s.vethsDeleted.Load(); n != 0 {
		t.Fatalf("the daemon deleted %d veths itself, want 0 (the namespace's end takes them)", n)
	}
}

// TestEndedSandboxVethDeletedWhenNamespaceHeld: a veth whose namespace
// outlives the sandbox (something else holds it) is deleted by the daemon,
// at the latest when it settles or closes.
func TestEndedSandboxVethDeletedWhenNamespaceHeld(t *testing.T) {
	e := newEnv(t)
	nsPath, veth := connectedVeth(t, e.s, "vethheld1")
	hold, err := os.Open(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if err := e.s.Disconnect(context.Background(), "vethheld1"); err != nil {
		t.Fatal(err)
	}
	e.s.settle()
	if _, err := netlink.LinkByName(veth); err == nil {
		t.Fatalf("veth %s of a held namespace left after the sandbox ended", veth)
	}
	if n := e.s.vethsDeleted.Load(); n != 1 {
		t.Fatalf("the daemon deleted %d veths, want 1", n)
	}
}
