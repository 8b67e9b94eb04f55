package e2e

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/network/socklb"
	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The published-port fast path (engine/network/socklb): a connect from the
// host to a port published on loopback is rewritten to the container's
// address, so it never goes through DNAT, and getpeername still shows the
// published address. Without berthd the DNAT rules serve.

// requireFastPath skips where the kernel offers no fast path (berthd then
// logs why and serves through DNAT, which the other port tests cover).
func requireFastPath(t *testing.T) {
	t.Helper()
	if _, err := socklb.Cgroup2Root(); err != nil {
		t.Skipf("no cgroup2 hierarchy, no fast path: %v", err)
	}
	if _, err := os.Stat("/proc/net/nf_conntrack"); err != nil {
		t.Skipf("cannot tell NATed connections apart without /proc/net/nf_conntrack: %v", err)
	}
}

// heldPrograms are the IDs of the BPF programs pid holds cgroup links to.
func heldPrograms(t *testing.T, pid int) map[ebpf.ProgramID]bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[ebpf.ProgramID]bool{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || !strings.Contains(string(b), "link_type:\tcgroup") {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "prog_id:\t"); ok {
				id, _ := strconv.ParseUint(v, 10, 32)
				out[ebpf.ProgramID(id)] = true
			}
		}
	}
	return out
}

// attachedConnect4 are the programs attached at connect4 on the cgroup2 root.
func attachedConnect4(t *testing.T) map[ebpf.ProgramID]bool {
	t.Helper()
	att, err := socklb.Attached()
	if err != nil {
		t.Fatal(err)
	}
	return att
}

// daemonFastPath returns the programs d's berthd attached at connect4 and
// fails if it attached none.
func daemonFastPath(t *testing.T, d *Daemon) map[ebpf.ProgramID]bool {
	t.Helper()
	held, att := heldPrograms(t, d.Pid()), attachedConnect4(t)
	ours := map[ebpf.ProgramID]bool{}
	for id := range held {
		if att[id] {
			ours[id] = true
		}
	}
	if len(ours) == 0 {
		t.Fatalf("berthd attached no connect4 program (holds %v, root has %v); log:\n%s", held, att, d.LogTail(20))
	}
	return ours
}

func assertDetached(t *testing.T, ids map[ebpf.ProgramID]bool, when string) {
	t.Helper()
	eventually(t, 5*time.Second, func() error {
		att := attachedConnect4(t)
		for id := range ids {
			if att[id] {
				return fmt.Errorf("%s: program %d still attached to the cgroup2 root", when, id)
			}
		}
		return nil
	})
}

// probe is one connection to addr kept open while the kernel's view of it
// is read: its peer as getpeername reports it and the original
// destination of its conntrack entry.
type probe struct {
	peer    netip.AddrPort
	origDst string // "ip:port" of conntrack's original direction
}

func probeConn(t *testing.T, addr string) probe {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	var p probe
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var sa unix.Sockaddr
	rc.Control(func(fd uintptr) { sa, err = unix.Getpeername(int(fd)) })
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := sa.(*unix.SockaddrInet4); ok {
		p.peer = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	}
	_, port, _ := net.SplitHostPort(addr)
	p.origDst = conntrackOrigDst(t, c.LocalAddr().(*net.TCPAddr).Port, port, "80")
	return p
}

// conntrackOrigDst is the original destination of the host's TCP
// conntrack entry whose original source port is sport and destination
// port one of dports (the published and the container's).
func conntrackOrigDst(t *testing.T, sport int, dports ...string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/net/nf_conntrack")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("sport=%d", sport)
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 10 || f[2] != "tcp" {
			continue
		}
		var dst, sp, dp string
		for _, kv := range f {
			k, v, _ := strings.Cut(kv, "=")
			switch {
			case k == "dst" && dst == "":
				dst = v
			case k == "sport" && sp == "":
				sp = kv
			case k == "dport" && dp == "":
				dp = v
			}
		}
		if sp == want && slices.Contains(dports, dp) {
			return dst + ":" + dp
		}
	}
	t.Fatalf("no conntrack entry with original %s", want)
	return ""
}

// boundGet fetches /index.html from addr over a socket bound to
// 127.0.0.1 before it connects.
func boundGet(t *testing.T, addr string) string {
	t.Helper()
	dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Timeout: 2 * time.Second}
	c, err := dl.Dial("tcp4", addr)
	if err != nil {
		t.Fatalf("dial %s from 127.0.0.1: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /index.html HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read from %s: %v", addr, err)
	}
	return string(b)
}

// expectFast: the connection went straight to the container (no DNAT in
// conntrack) and the client sees the published address as its peer.
func expectFast(t *testing.T, addr, ctrAddr string) {
	t.Helper()
	p := probeConn(t, addr)
	if p.peer.String() != addr {
		t.Errorf("getpeername of a connection to %s = %s", addr, p.peer)
	}
	if p.origDst != ctrAddr {
		t.Errorf("connection to %s: conntrack's original destination %s, want %s (not rewritten at connect?)", addr, p.origDst, ctrAddr)
	}
}

func TestPublishFastPath(t *testing.T) {
	requireEnv(t)
	requireFastPath(t)
	d := startDaemon(t)
	b := d.Berth()
	hp, other := freeHostPort(t), freeHostPort(t)
	gw := b.Must(t, "network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", "bridge")
	runHttpd(t, b, "fweb", "fast", "-p", fmt.Sprintf("127.0.0.1:%d:80", hp))
	runHttpd(t, b, "gweb", "gateway", "-p", fmt.Sprintf("%s:%d:80", gw, other))
	ctr := netIP(t, b, "fweb", "bridge") + ":80"
	addr := fmt.Sprintf("127.0.0.1:%d", hp)
	waitHTTP(t, "http://"+addr+"/index.html", "fast")
	ids := daemonFastPath(t, d)
	expectFast(t, addr, ctr)
	// A client bound to 127.0.0.1 first is redirected as well: its packets
	// leave through the bridge (route_localnet) and are masqueraded.
	if got := boundGet(t, addr); !strings.Contains(got, "fast") {
		t.Errorf("client bound to 127.0.0.1: %q, want the page", got)
	}

	// Published on another host address: reachable there, not through
	// loopback (as with the DNAT rule's -d).
	waitHTTP(t, fmt.Sprintf("http://%s:%d/index.html", gw, other), "gateway")
	if got, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/index.html", other)); err == nil {
		t.Errorf("port %d published on %s answered through 127.0.0.1: %q", other, gw, got)
	}

	// SIGKILL: the links go with berthd and DNAT serves.
	d.Kill()
	assertDetached(t, ids, "after SIGKILL")
	if got, err := httpGet("http://" + addr + "/index.html"); err != nil || got != "fast" {
		t.Errorf("while berthd is down: %q %v", got, err)
	}
	if p := probeConn(t, addr); p.origDst != addr {
		t.Errorf("while berthd is down: conntrack's original destination %s, want %s (DNAT)", p.origDst, addr)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	daemonFastPath(t, d)
	expectFast(t, addr, ctr)

	// A stopped container's port refuses.
	b.Must(t, "stop", "-t", "1", "fweb")
	if _, err := net.DialTimeout("tcp4", addr, 2*time.Second); err == nil {
		t.Errorf("%s accepted a connection after the container stopped", addr)
	}

	// A clean stop leaves nothing attached.
	ids = daemonFastPath(t, d)
	if !d.Stop() {
		t.Fatal("berthd did not stop on SIGTERM")
	}
	assertDetached(t, ids, "after a clean stop")
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
}

// run --rm -p P then run -p P at once: the second container gets the port,
// on the fast path.
func TestPublishFastPathReuse(t *testing.T) {
	requireEnv(t)
	requireFastPath(t)
	d := sharedDaemon(t, "net")
	b := d.Berth()
	hp := freeHostPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", hp)
	b.Must(t, "run", "--rm", "-p", fmt.Sprintf("%d:80", hp), "busybox", "true")
	name := uniq("reuse")
	runHttpd(t, b, name, "second", "-p", fmt.Sprintf("%d:80", hp))
	waitHTTP(t, "http://"+addr+"/index.html", "second")
	daemonFastPath(t, d)
	expectFast(t, addr, netIP(t, b, name, "bridge")+":80")
	b.Must(t, "rm", "-f", name)
	if _, err := net.DialTimeout("tcp4", addr, 2*time.Second); err == nil {
		t.Errorf("%s accepted a connection after rm", addr)
	}
}

// --iptables=false publishes nothing, so berthd attaches no fast path.
func TestPublishFastPathOffWithoutIptables(t *testing.T) {
	requireEnv(t)
	requireFastPath(t)
	d := newStoppedDaemon(t)
	d.addConfig(t, map[string]any{"iptables": false})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if held := heldPrograms(t, d.Pid()); len(held) > 0 {
		t.Errorf("berthd with iptables off holds cgroup programs %v", held)
	}
}
