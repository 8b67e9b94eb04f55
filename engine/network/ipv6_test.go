package network

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/network"
)

// TestCreateIPv6 creates dual-stack networks on a real bridge: a given
// IPv6 subnet, a picked unique local /64, and the refusals.
func TestCreateIPv6(t *testing.T) {
	e := newEnv(t)
	if IPv6Status() != "" {
		t.Skip(IPv6Status())
	}
	const fwd6 = "/proc/sys/net/ipv6/conf/all/forwarding"
	if v, err := os.ReadFile(fwd6); err == nil {
		t.Cleanup(func() { os.WriteFile(fwd6, v, 0o644) })
	}
	ctx := context.Background()
	yes := true
	sub6 := netip.MustParsePrefix("fd42:213:1::/64")
	id, _, err := e.s.Create(ctx, network.CreateRequest{Name: "t6a", EnableIPv6: &yes, IPAM: &network.IPAM{Config: []network.IPAMConfig{
		{Subnet: netip.MustParsePrefix(testNet + ".70.0/24")}, {Subnet: sub6}}}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.s.Inspect(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if !in.EnableIPv6 || len(in.IPAM.Config) != 2 || in.IPAM.Config[1].Subnet != sub6 || in.IPAM.Config[1].Gateway.String() != "fd42:213:1::1" {
		t.Fatalf("inspect: EnableIPv6 %v IPAM %+v", in.EnableIPv6, in.IPAM.Config)
	}
	br := "br-" + id[:12]
	if v, _ := os.ReadFile("/proc/sys/net/ipv6/conf/" + br + "/disable_ipv6"); strings.TrimSpace(string(v)) != "0" {
		t.Errorf("IPv6 is not enabled on %s: %q", br, v)
	}

	// No IPv6 subnet: a unique local /64 that overlaps nothing.
	id2, _, err := e.s.Create(ctx, network.CreateRequest{Name: "t6b", EnableIPv6: &yes})
	if err != nil {
		t.Fatal(err)
	}
	in2, _ := e.s.Inspect(ctx, id2, false)
	if len(in2.IPAM.Config) != 2 || in2.IPAM.Config[1].Subnet.Bits() != 64 || in2.IPAM.Config[1].Subnet.Addr().As16()[0] != 0xfd {
		t.Fatalf("picked IPv6 config %+v", in2.IPAM.Config)
	}
	for _, r := range hostRoutes6() {
		if r.Overlaps(in2.IPAM.Config[1].Subnet) && r != in2.IPAM.Config[1].Subnet {
			t.Errorf("picked %s overlaps host route %s", in2.IPAM.Config[1].Subnet, r)
		}
	}

	for _, bad := range []struct {
		name string
		req  network.CreateRequest
		want string
	}{
		{"v6 subnet without --ipv6", network.CreateRequest{Name: "t6x", IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("fd42:213:9::/64")}}}}, "IPv6 is not enabled"},
		{"overlap", network.CreateRequest{Name: "t6x", EnableIPv6: &yes, IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("fd42:213:1::/80")}}}}, "overlaps"},
		{"two v6", network.CreateRequest{Name: "t6x", EnableIPv6: &yes, IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("fd42:213:7::/64")}, {Subnet: netip.MustParsePrefix("fd42:213:8::/64")}}}}, "one IPv4 and one IPv6"},
		{"v4 gateway in v6", network.CreateRequest{Name: "t6x", EnableIPv6: &yes, IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("fd42:213:7::/64"), Gateway: netip.MustParseAddr("10.0.0.1")}}}}, "invalid gateway"},
		{"unmasked", network.CreateRequest{Name: "t6x", EnableIPv6: &yes, IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("fd42:213:7::5/64")}}}}, "it should be fd42:213:7::/64"},
	} {
		if _, _, err := e.s.Create(ctx, bad.req); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v, want %q", bad.name, err, bad.want)
		}
	}
	if _, err := e.s.Inspect(ctx, "t6x", false); err == nil {
		t.Error("a refused network was kept")
	}
}
