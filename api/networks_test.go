package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	netengine "github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/engine/network/iptables"
	"github.com/berth-dev/berth/engine/store"
	"github.com/moby/moby/api/types/network"
	"golang.org/x/sys/unix"
)

// netBackend adapts the network service for the test: container references
// are container IDs, as the daemon's adapter resolves them to.
type netBackend struct{ *netengine.Service }

func (b netBackend) NetworkConnect(ctx context.Context, netRef, c string, ep *network.EndpointSettings) error {
	return b.ConnectNetwork(ctx, c, netRef, ep)
}

func (b netBackend) NetworkDisconnect(ctx context.Context, netRef, c string, force bool) error {
	return b.DisconnectNetwork(ctx, c, netRef, force)
}

// TestNetworkRoutesWithDockerCLI drives the routes with the real docker
// CLI over a unix socket, backed by the real network service.
func TestNetworkRoutesWithDockerCLI(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	dockerBin, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker CLI not installed")
	}
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	// Names carry the pid and the subnets are free on the host, so a
	// concurrent run or a running engine never meets this test's network.
	run := os.Getpid() % 100000
	br0, br1 := fmt.Sprintf("btapi%05da", run), fmt.Sprintf("btapi%05db", run)
	net16 := freeTestNet16(t)
	chains := iptables.Chains{Prefix: fmt.Sprintf("BTAPI%05d", run)}
	svc, err := netengine.New(netengine.Config{DataRoot: dir, ExecRoot: filepath.Join(dir, "exec"), Bip: net16 + ".10.1/24",
		BridgeName: br0, Iptables: true, ChainPrefix: chains.Prefix}, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Reconcile(ctx, nil)
		svc.Prune(ctx, nil)
		svc.Close()
		for _, b := range []string{br0, br1} {
			exec.Command("ip", "link", "del", b).Run()
		}
		chains.RemoveAll(ctx)
		unix.Unmount(filepath.Join(dir, "exec", "netns"), unix.MNT_DETACH)
	})
	srv := New(Backends{Networks: netBackend{svc}}, nil)
	sock := filepath.Join(dir, "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })

	docker := func(args ...string) (string, error) {
		cmd := exec.Command(dockerBin, append([]string{"-H", "unix://" + sock}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := docker(args...)
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	id := must("network", "create", "--subnet", net16+".11.0/24", "--gateway", net16+".11.254", "--ip-range", net16+".11.128/25",
		"--label", "team=a", "-o", "com.docker.network.bridge.name="+br1, "--internal", "tnet")
	if len(id) != 64 {
		t.Fatalf("create printed %q", id)
	}
	ls := must("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}")
	if ls != "bridge bridge local\nhost host local\nnone null local\ntnet bridge local" {
		t.Errorf("network ls:\n%s", ls)
	}
	if got := must("network", "ls", "-q", "--filter", "label=team=a"); !strings.HasPrefix(id, got) || got == "" {
		t.Errorf("ls -q --filter label: %q", got)
	}
	var insp []network.Inspect
	if err := json.Unmarshal([]byte(must("network", "inspect", "tnet")), &insp); err != nil {
		t.Fatal(err)
	}
	c := insp[0].IPAM.Config
	if len(insp) != 1 || !insp[0].Internal || len(c) != 1 || c[0].Subnet.String() != net16+".11.0/24" ||
		c[0].Gateway.String() != net16+".11.254" || c[0].IPRange.String() != net16+".11.128/25" || insp[0].Labels["team"] != "a" {
		t.Errorf("inspect = %+v", insp)
	}
	if out, err := docker("network", "create", "tnet"); err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("duplicate create: %v %s", err, out)
	}
	if out, err := docker("network", "inspect", "nosuch"); err == nil || !strings.Contains(out, "network nosuch not found") {
		t.Errorf("inspect missing: %v %s", err, out)
	}
	if out, err := docker("network", "rm", "bridge"); err == nil || !strings.Contains(out, "pre-defined network and cannot be removed") {
		t.Errorf("rm bridge: %v %s", err, out)
	}

	// connect/disconnect a "running container" (a sandbox of the service).
	const cid = "0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef"
	if _, err := svc.Connect(ctx, netengine.ConnectRequest{ContainerID: cid, ContainerName: "web"}); err != nil {
		t.Fatal(err)
	}
	must("network", "connect", "--alias", "www", "--ip", net16+".11.7", "tnet", cid)
	a := svc.Attached(cid)
	if ep := a.Networks["tnet"]; ep == nil || ep.IPAddress.String() != net16+".11.7" || ep.Aliases[0] != "www" {
		t.Fatalf("after connect: %+v", a.Networks)
	}
	if got := must("network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}", "tnet"); got != "web "+net16+".11.7/24" {
		t.Errorf("inspect containers: %q", got)
	}
	if out, err := docker("network", "rm", "tnet"); err == nil || !strings.Contains(out, "has active endpoints") {
		t.Errorf("rm in use: %v %s", err, out)
	}
	must("network", "disconnect", "tnet", cid)
	if svc.Attached(cid).Networks["tnet"] != nil {
		t.Error("still connected after disconnect")
	}
	svc.Disconnect(ctx, cid)
	if got := must("network", "prune", "-f"); !strings.Contains(got, "tnet") {
		t.Errorf("prune output: %q", got)
	}
	if got := must("network", "ls", "-q", "--filter", "name=tnet"); got != "" {
		t.Errorf("tnet left after prune: %q", got)
	}
}

// freeTestNet16 returns "10.x" for a 10.x.0.0/16 the host routes nothing in.
func freeTestNet16(t *testing.T) string {
	used := netengine.HostSubnets()
	for i := 0; i < 256; i++ {
		b := byte(213 + i)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, b, 0, 0}), 16)
		if !slices.ContainsFunc(used, p.Overlaps) {
			return fmt.Sprintf("10.%d", b)
		}
	}
	t.Skip("no 10.x.0.0/16 is free on this host")
	return ""
}
