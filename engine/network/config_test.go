package network

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/berth-dev/berth/engine/network/ipam"
	"github.com/berth-dev/berth/internal/errdefs"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
)

func TestValidateConfig(t *testing.T) {
	ok := []Config{
		{},
		{Bip: "172.17.0.1/16", FixedCIDR: "172.17.1.0/24", MTU: 1450, BridgeName: "berth0", ChainPrefix: "BERTH"},
		{DefaultAddressPools: []Pool{{Base: "10.10.0.0/16", Size: 24}}},
		{ChainPrefix: "BT12345x123"},
	}
	for _, c := range ok {
		if err := ValidateConfig(c); err != nil {
			t.Errorf("%+v refused: %v", c, err)
		}
	}
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Bip: "127.0.0.1/8"}, "loopback"},
		{Config{Bip: "169.254.1.1/24"}, "link-local"},
		{Config{Bip: "224.0.0.1/24"}, "multicast"},
		{Config{Bip: "0.1.2.3/24"}, "0.0.0.0/8"},
		{Config{Bip: "240.0.0.1/24"}, "240.0.0.0/4"},
		{Config{Bip: "10.1.2.3"}, "invalid bip"},
		{Config{Bip: "10.1.2.0/24"}, "network or broadcast"},
		{Config{Bip: "10.1.2.255/24"}, "network or broadcast"},
		{Config{Bip: "10.1.2.1/31"}, "too small"},
		{Config{Bip: "10.1.2.1/24", FixedCIDR: "10.1.3.0/24"}, "not inside bip"},
		{Config{FixedCIDR: "127.0.0.0/24"}, "loopback"},
		{Config{DefaultAddressPools: []Pool{{Base: "127.0.0.0/8", Size: 24}}}, "default-address-pools[0] base"},
		{Config{DefaultAddressPools: []Pool{{Base: "10.0.0.0/8", Size: 24}, {Base: "169.254.0.0/16", Size: 24}}}, "default-address-pools[1] base"},
		{Config{DefaultAddressPools: []Pool{{Base: "10.10.0.0/16", Size: 8}}}, "size 8"},
		{Config{DefaultAddressPools: []Pool{{Base: "nonsense", Size: 24}}}, "base \"nonsense\""},
		{Config{MTU: 20}, "mtu"},
		{Config{BridgeName: "a-name-longer-than-15"}, "bridge name"},
		{Config{ChainPrefix: "BAD PREFIX"}, "iptables-chain-prefix"},
		{Config{ChainPrefix: "A-PREFIX-THAT-IS-TOO-LONG"}, "iptables-chain-prefix"},
	}
	for _, b := range bad {
		err := ValidateConfig(b.cfg)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: %v, want an error mentioning %q", b.cfg, err, b.want)
		}
	}
}

// A user network on a reserved range is a 400 and touches nothing.
func TestCreateRefusesReservedSubnets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := len(e.s.nets)
	for _, sub := range []string{"127.0.0.0/8", "127.5.0.0/16", "0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "239.1.0.0/16", "240.0.0.0/4", "255.255.255.252/30"} {
		_, _, err := e.s.Create(ctx, network.CreateRequest{Name: "treserved", IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix(sub)}}}})
		if err == nil || !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("subnet %s: %v, want an invalid-parameter error saying it is reserved", sub, err)
		}
	}
	if len(e.s.nets) != before {
		t.Errorf("refused creates left %d networks behind", len(e.s.nets)-before)
	}
}

// FuzzValidateConfig: any bip, fixed-cidr and pool is accepted or refused
// without panicking, and nothing accepted overlaps a reserved range.
func FuzzValidateConfig(f *testing.F) {
	f.Add("172.17.0.1/16", "172.17.1.0/24", "10.10.0.0/16", 24)
	f.Add("127.0.0.1/8", "", "", 0)
	f.Add("10.0.0.1/31", "10.0.0.0/32", "224.0.0.0/4", 30)
	f.Add("", "", "0.0.0.0/0", 0)
	f.Fuzz(func(t *testing.T, bip, fixed, base string, size int) {
		cfg := Config{Bip: bip, FixedCIDR: fixed}
		if base != "" {
			cfg.DefaultAddressPools = []Pool{{Base: base, Size: size}}
		}
		if ValidateConfig(cfg) != nil {
			return
		}
		for _, s := range []string{bip, fixed, base} {
			if s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				t.Fatalf("accepted unparsable %q", s)
			}
			if err := ipam.CheckReserved("x", p); err != nil {
				t.Fatalf("accepted %q: %v", s, err)
			}
		}
	})
}

// --aux-address is refused, not accepted and ignored (its addresses would
// be handed to containers).
func TestCreateRefusesAuxAddresses(t *testing.T) {
	e := newEnv(t)
	sub := netip.MustParsePrefix(testNet + ".77.0/24")
	_, _, err := e.s.Create(context.Background(), network.CreateRequest{Name: "taux", IPAM: &network.IPAM{Config: []network.IPAMConfig{{
		Subnet: sub, AuxAddress: map[string]netip.Addr{"router": netip.MustParseAddr(testNet + ".77.5")}}}}})
	if err == nil || !cerrdefs.IsNotImplemented(err) || !strings.Contains(err.Error(), "aux-address") {
		t.Errorf("create with --aux-address: %v, want a not-implemented error naming it", err)
	}
}
