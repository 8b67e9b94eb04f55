package socklb

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/berth-dev/berth/engine/network/iptables"
	"github.com/cilium/ebpf"
)

// skipUnlessBPF skips when this process may not load BPF programs at all.
func skipUnlessBPF(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading BPF programs needs root (CAP_BPF and CAP_NET_ADMIN)")
	}
	_, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, os.ErrPermission) {
		t.Skipf("BPF unavailable here: %v", err)
	}
}

// TestProgramsVerify loads both programs: the verifier accepts them on this
// kernel (a refusal fails with the verifier's log).
func TestProgramsVerify(t *testing.T) {
	skipUnlessBPF(t)
	l, err := load(42)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			t.Fatalf("verifier: %+v", ve)
		}
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSyncMap: Sync writes exactly the rendered entries and removes the
// ones that went.
func TestSyncMap(t *testing.T) {
	skipUnlessBPF(t)
	l, err := load(42)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a := iptables.Port{Proto: "tcp", HostPort: 8080, ContainerIP: netip.MustParseAddr("10.9.0.2"), ContainerPort: 80}
	b := iptables.Port{Proto: "tcp", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8081, ContainerIP: netip.MustParseAddr("10.9.0.3"), ContainerPort: 81}
	if err := l.Sync([]iptables.Port{a, b}); err != nil {
		t.Fatal(err)
	}
	if got := mapKeys(t, l.services); len(got) != 2 {
		t.Fatalf("map has %d entries, want 2", len(got))
	}
	if err := l.Sync([]iptables.Port{b}); err != nil {
		t.Fatal(err)
	}
	got := mapKeys(t, l.services)
	if len(got) != 1 || got[0] != (key{IP: [4]byte{127, 0, 0, 1}, Port: be16(8081), Proto: ipprotoTCP}) {
		t.Fatalf("map keys %+v, want only 127.0.0.1:8081/tcp", got)
	}
}

func mapKeys(t *testing.T, m *ebpf.Map) []key {
	var out []key
	var k key
	var v value
	it := m.Iterate()
	for it.Next(&k, &v) {
		out = append(out, k)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRedirect attaches the programs and connects to a loopback address
// published to a listener on another loopback address: the connection
// lands on the listener and getpeername shows the published address.
func TestRedirect(t *testing.T) {
	skipUnlessBPF(t)
	if _, err := Cgroup2Root(); err != nil {
		t.Skipf("no fast path without cgroup2: %v", err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pub, err := net.Listen("tcp4", "127.0.0.1:0") // a free port nobody accepts on
	if err != nil {
		t.Fatal(err)
	}
	pubAddr := pub.Addr().(*net.TCPAddr).AddrPort()
	pub.Close()
	l, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dst := ln.Addr().(*net.TCPAddr).AddrPort()
	if err := l.Sync([]iptables.Port{{Proto: "tcp", HostPort: pubAddr.Port(), ContainerIP: dst.Addr(), ContainerPort: dst.Port()}}); err != nil {
		t.Fatal(err)
	}
	target := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.5"), pubAddr.Port())
	c, err := net.Dial("tcp4", target.String())
	if err != nil {
		t.Fatalf("dial %s: %v (not redirected?)", target, err)
	}
	defer c.Close()
	if got := c.RemoteAddr().(*net.TCPAddr).AddrPort(); got != target {
		t.Errorf("getpeername = %s, want %s", got, target)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !attached(t, l) {
		t.Fatal("programs not attached to the cgroup2 root")
	}
}

func attached(t *testing.T, l *LB) bool {
	att, err := Attached()
	if err != nil {
		t.Fatal(err)
	}
	info, err := l.progs[0].Info()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := info.ID()
	return att[id]
}
