package ipam

import (
	"net/netip"
	"testing"
)

func TestPool6(t *testing.T) {
	p, err := NewPool6(netip.MustParsePrefix("fd12:3456::/64"), netip.Prefix{}, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Gateway.String() != "fd12:3456::1" {
		t.Fatalf("gateway = %s", p.Gateway)
	}
	a, _ := p.Allocate()
	b, _ := p.Allocate()
	if a.String() != "fd12:3456::2" || b.String() != "fd12:3456::3" {
		t.Fatalf("allocated %s, %s", a, b)
	}
	if err := p.Reserve(a); err != ErrInUse {
		t.Fatalf("Reserve of a used address: %v", err)
	}
	if err := p.Reserve(netip.MustParseAddr("fd12:3457::9")); err == nil {
		t.Fatal("Reserve outside the subnet accepted")
	}
	if err := p.Reserve(netip.MustParseAddr("fd12:3456::")); err == nil {
		t.Fatal("Reserve of the subnet-router anycast address accepted")
	}
	p.Release(a)
	c, _ := p.Allocate()
	if c.String() != "fd12:3456::4" {
		t.Fatalf("a released address is not reused at once: got %s", c)
	}

	// A /126 holds ::1 (gateway), ::2, ::3; then it is full, then a release frees one.
	small, err := NewPool6(netip.MustParsePrefix("fd00:9::/126"), netip.Prefix{}, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := small.Allocate()
	y, _ := small.Allocate()
	if _, err := small.Allocate(); err == nil {
		t.Fatalf("full pool allocated (have %s %s)", x, y)
	}
	small.Release(x)
	if z, err := small.Allocate(); err != nil || z != x {
		t.Fatalf("after release: %s %v", z, err)
	}

	for _, bad := range []struct{ sub, rng, gw string }{
		{"10.0.0.0/24", "", ""},
		{"fd00::1/64", "", ""},
		{"fd00::/127", "", ""},
		{"fd00::/64", "fd01::/80", ""},
		{"fd00::/64", "", "fd01::1"},
		{"fd00::/64", "", "fd00::"},
	} {
		var rng netip.Prefix
		var gw netip.Addr
		if bad.rng != "" {
			rng = netip.MustParsePrefix(bad.rng)
		}
		if bad.gw != "" {
			gw = netip.MustParseAddr(bad.gw)
		}
		if _, err := NewPool6(netip.MustParsePrefix(bad.sub), rng, gw); err == nil {
			t.Errorf("NewPool6(%v) accepted", bad)
		}
	}
}

func TestRandomULA(t *testing.T) {
	used := []netip.Prefix{netip.MustParsePrefix("fd00::/64")}
	for i := 0; i < 100; i++ {
		p, err := RandomULA(used)
		if err != nil {
			t.Fatal(err)
		}
		if p.Bits() != 64 || p.Addr().As16()[0] != 0xfd || p.Overlaps(used[0]) || p != p.Masked() {
			t.Fatalf("RandomULA = %s", p)
		}
	}
	if _, err := RandomULA([]netip.Prefix{netip.MustParsePrefix("fd00::/8")}); err == nil {
		t.Fatal("RandomULA found room in a full fd00::/8")
	}
}
