package ipam

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestAllocateSequentialSkipsGatewayAndNetwork(t *testing.T) {
	p, err := NewPool(netip.MustParsePrefix("10.213.0.0/24"), netip.Prefix{}, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Gateway != netip.MustParseAddr("10.213.0.1") {
		t.Fatalf("gateway = %s", p.Gateway)
	}
	for _, want := range []string{"10.213.0.2", "10.213.0.3"} {
		a, err := p.Allocate()
		if err != nil || a.String() != want {
			t.Fatalf("Allocate = %s, %v; want %s", a, err, want)
		}
	}
}

func TestReleaseIsNotReusedImmediately(t *testing.T) {
	p, _ := NewPool(netip.MustParsePrefix("10.213.1.0/24"), netip.Prefix{}, netip.Addr{})
	a, _ := p.Allocate()
	p.Release(a)
	b, _ := p.Allocate()
	if a == b {
		t.Fatalf("released %s was handed out again at once", a)
	}
	if p.InUse(a) {
		t.Fatalf("%s still in use after release", a)
	}
}

func TestExhaustionAndWrap(t *testing.T) {
	// /29: .0 network, .1 gateway, .7 broadcast => 5 usable.
	p, _ := NewPool(netip.MustParsePrefix("10.213.2.0/29"), netip.Prefix{}, netip.Addr{})
	var got []netip.Addr
	for i := 0; i < 5; i++ {
		a, err := p.Allocate()
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		got = append(got, a)
	}
	if _, err := p.Allocate(); !errors.Is(err, ErrExhausted) {
		t.Fatalf("6th allocation: err = %v, want ErrExhausted", err)
	}
	p.Release(got[0])
	a, err := p.Allocate()
	if err != nil || a != got[0] {
		t.Fatalf("after release: %s, %v; want %s", a, err, got[0])
	}
}

func TestIPRange(t *testing.T) {
	p, err := NewPool(netip.MustParsePrefix("10.213.3.0/24"), netip.MustParsePrefix("10.213.3.128/30"), netip.MustParseAddr("10.213.3.254"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		a, err := p.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		if !p.Range.Contains(a) {
			t.Fatalf("%s outside range %s", a, p.Range)
		}
	}
	if _, err := p.Allocate(); !errors.Is(err, ErrExhausted) {
		t.Fatalf("err = %v, want exhausted", err)
	}
	// A fixed --ip outside the range but inside the subnet is allowed.
	if err := p.Reserve(netip.MustParseAddr("10.213.3.10")); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPool(netip.MustParsePrefix("10.213.3.0/24"), netip.MustParsePrefix("10.213.4.0/25"), netip.Addr{}); err == nil {
		t.Fatal("range outside subnet accepted")
	}
}

func TestReserveFixed(t *testing.T) {
	p, _ := NewPool(netip.MustParsePrefix("10.213.5.0/24"), netip.Prefix{}, netip.Addr{})
	ip := netip.MustParseAddr("10.213.5.2")
	if err := p.Reserve(ip); err != nil {
		t.Fatal(err)
	}
	if err := p.Reserve(ip); !errors.Is(err, ErrInUse) {
		t.Fatalf("double reserve: %v", err)
	}
	if err := p.Reserve(p.Gateway); !errors.Is(err, ErrInUse) {
		t.Fatalf("gateway reserve: %v", err)
	}
	for _, bad := range []string{"10.213.6.2", "10.213.5.0", "10.213.5.255"} {
		if err := p.Reserve(netip.MustParseAddr(bad)); err == nil {
			t.Fatalf("Reserve(%s) accepted", bad)
		}
	}
	a, _ := p.Allocate()
	if a == ip {
		t.Fatalf("allocated reserved %s", ip)
	}
}

func TestSplit(t *testing.T) {
	s, ok := Split(netip.MustParsePrefix("192.168.0.0/16"), 20, 1)
	if !ok || s.String() != "192.168.16.0/20" {
		t.Fatalf("Split = %s %v", s, ok)
	}
	if _, ok := Split(netip.MustParsePrefix("192.168.0.0/16"), 20, 16); ok {
		t.Fatal("split past end")
	}
	s, ok = Split(netip.MustParsePrefix("172.18.0.0/16"), 16, 0)
	if !ok || s.String() != "172.18.0.0/16" {
		t.Fatalf("Split = %s", s)
	}
}

func TestCheckReserved(t *testing.T) {
	for _, s := range []string{"127.0.0.0/8", "127.1.0.0/16", "0.0.0.0/8", "0.0.0.0/0", "169.254.0.0/16", "169.254.169.0/24",
		"224.0.0.0/4", "239.1.2.0/24", "240.0.0.0/4", "255.255.255.252/30", "255.255.255.255/32", "126.0.0.0/7", "192.0.0.0/2",
		"::1/128", "fe80::/64", "ff02::/16", "::/0"} {
		if err := CheckReserved("subnet", netip.MustParsePrefix(s)); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
	for _, s := range []string{"10.0.0.0/8", "172.17.0.0/16", "192.168.0.0/20", "126.255.255.0/24", "128.0.0.0/24", "169.253.0.0/16", "223.255.255.0/24", "fd00:1::/64", "2001:db8::/64"} {
		if err := CheckReserved("subnet", netip.MustParsePrefix(s)); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
	err := CheckReserved("bip", netip.MustParsePrefix("127.0.0.1/8"))
	if err == nil || !strings.Contains(err.Error(), "loopback") || !strings.Contains(err.Error(), "bip") {
		t.Errorf("message does not name the setting and the range: %v", err)
	}
}
