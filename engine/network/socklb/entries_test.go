package socklb

import (
	"net/netip"
	"testing"

	"github.com/berth-dev/berth/engine/network/iptables"
)

func TestEntries(t *testing.T) {
	ctr := netip.MustParseAddr("10.9.0.2")
	ip := netip.MustParseAddr
	ports := []iptables.Port{
		{Proto: "tcp", HostPort: 8080, ContainerIP: ctr, ContainerPort: 80},                                 // unset: every address
		{Proto: "tcp", HostIP: ip("0.0.0.0"), HostPort: 8081, ContainerIP: ctr, ContainerPort: 81},          // every address
		{Proto: "tcp", HostIP: ip("127.0.0.1"), HostPort: 8082, ContainerIP: ctr, ContainerPort: 82},        // loopback only
		{Proto: "tcp", HostIP: ip("127.0.0.2"), HostPort: 8083, ContainerIP: ctr, ContainerPort: 83},        // another loopback address
		{Proto: "tcp", HostIP: ip("192.0.2.7"), HostPort: 8084, ContainerIP: ctr, ContainerPort: 84},        // not through loopback
		{Proto: "udp", HostPort: 8085, ContainerIP: ctr, ContainerPort: 85},                                 // left to DNAT
		{Proto: "sctp", HostPort: 8086, ContainerIP: ctr, ContainerPort: 86},                                // left to DNAT
		{Proto: "tcp", HostIP: ip("::ffff:127.0.0.1"), HostPort: 8087, ContainerIP: ctr, ContainerPort: 87}, // mapped form
	}
	got := entries(ports)
	want := map[key]value{
		{IP: [4]byte{0, 0, 0, 0}, Port: [2]byte{0x1f, 0x90}, Proto: 6}:   {IP: ctr.As4(), Port: [2]byte{0, 80}},
		{IP: [4]byte{0, 0, 0, 0}, Port: [2]byte{0x1f, 0x91}, Proto: 6}:   {IP: ctr.As4(), Port: [2]byte{0, 81}},
		{IP: [4]byte{127, 0, 0, 1}, Port: [2]byte{0x1f, 0x92}, Proto: 6}: {IP: ctr.As4(), Port: [2]byte{0, 82}},
		{IP: [4]byte{127, 0, 0, 2}, Port: [2]byte{0x1f, 0x93}, Proto: 6}: {IP: ctr.As4(), Port: [2]byte{0, 83}},
		{IP: [4]byte{127, 0, 0, 1}, Port: [2]byte{0x1f, 0x97}, Proto: 6}: {IP: ctr.As4(), Port: [2]byte{0, 87}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %+v, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("entry %+v = %+v, want %+v", k, got[k], v)
		}
	}
}

// An IPv6 container address has no IPv4 destination to rewrite to.
func TestEntriesSkipIPv6Container(t *testing.T) {
	got := entries([]iptables.Port{{Proto: "tcp", HostPort: 80, ContainerIP: netip.MustParseAddr("fd00::2"), ContainerPort: 80}})
	if len(got) != 0 {
		t.Fatalf("got %+v, want none", got)
	}
}
