package network

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/network/iptables"
	"github.com/berth-dev/berth/engine/store"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Test networks use testNet.x.0/24 subnets, bridges named by testBridge,
// and the testChains chain prefix, both carrying the test process's pid, so
// they never meet a running berthd, Docker, or another run of these tests.
var (
	testRun    = os.Getpid() % 100000
	testChains = fmt.Sprintf("BTN%05d", testRun)
)

// testBridge is the name of this run's nth test bridge.
func testBridge(n int) string { return fmt.Sprintf("btst%05d%c", testRun, 'a'+n) }

// testNet is the first two octets of a 10.x.0.0/16 the host routes nothing
// in when the tests start (10.213 unless taken), checked as the IPAM checks
// a new network's subnet: a bridge of Docker's, another berthd's or another
// test run's on a fixed subnet would otherwise break these tests.
var testNet = func() string {
	used := HostSubnets()
	for i := 0; i < 256; i++ {
		b := (213 + i) % 256
		if !overlapsAny(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(b), 0, 0}), 16), used) {
			return fmt.Sprintf("10.%d", b)
		}
	}
	panic("no 10.x.0.0/16 is free on this host for the network tests")
}()

// macOf is the MAC address Docker derives from an IPv4 address: 02:42
// then the address's four bytes.
func macOf(ip netip.Addr) string {
	b := ip.As4()
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

const ipForward = "/proc/sys/net/ipv4/ip_forward"

func needRoot(t testing.TB) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("iptables-restore"); err != nil {
		t.Skip("needs iptables")
	}
}

type testEnv struct {
	t       testing.TB
	db      *store.DB
	cfg     Config
	s       *Service
	bridges []string
}

// newEnv creates a Service on a temp data-root with the default bridge
// testBridge(0) on testNet.0.0/24; everything it makes is removed at cleanup.
func newEnv(t testing.TB) *testEnv {
	needRoot(t)
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, db: db, bridges: []string{testBridge(0)}}
	// The tests enable forwarding (hairpin needs it); put it back after.
	if fwd, err := os.ReadFile(ipForward); err == nil {
		t.Cleanup(func() { os.WriteFile(ipForward, fwd, 0o644) })
	}
	e.cfg = Config{DataRoot: dir, ExecRoot: filepath.Join(dir, "exec"), Bip: testNet + ".0.1/24", BridgeName: testBridge(0),
		Iptables: true, IPForward: true, ChainPrefix: testChains,
		DefaultAddressPools: []Pool{{Base: testNet + ".64.0/18", Size: 24}}}
	t.Cleanup(e.cleanup)
	e.s = e.open()
	return e
}

func (e *testEnv) open() *Service {
	e.t.Helper()
	s, err := New(e.cfg, e.db, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *testEnv) cleanup() {
	ctx := context.Background()
	if e.s != nil {
		e.s.Reconcile(ctx, nil)
		e.s.mu.Lock()
		for _, n := range e.s.nets {
			if !n.rec.Predefined {
				e.s.removeLocked(ctx, n)
			}
		}
		e.s.mu.Unlock()
		e.s.Close()
	}
	for _, b := range e.bridges {
		deleteBridge(b)
	}
	iptables.Chains{Prefix: testChains}.RemoveAll(ctx)
	unix.Unmount(filepath.Join(e.cfg.ExecRoot, "netns"), unix.MNT_DETACH)
	e.db.Close()
}

// serveIn runs a TCP server in a netns ("" = host) that greets and closes.
func serveIn(t testing.TB, nsPath, addr, greeting string) {
	t.Helper()
	var l net.Listener
	listen := func(netns.NsHandle) error {
		var err error
		l, err = net.Listen("tcp4", addr)
		return err
	}
	var err error
	if nsPath == "" {
		err = listen(0)
	} else {
		err = inNetNS(nsPath, false, listen)
	}
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(greeting))
			c.Close()
		}
	}()
}

// dialIn connects from a netns ("" = host) and returns what the server said.
func dialIn(nsPath, network, addr string) (string, error) {
	var c net.Conn
	dial := func(netns.NsHandle) error {
		var err error
		c, err = (&net.Dialer{Timeout: 700 * time.Millisecond}).Dial(network, addr)
		return err
	}
	var err error
	if nsPath == "" {
		err = dial(0)
	} else {
		err = inNetNS(nsPath, false, dial)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// linksInNS lists interface names and the default route presence in a netns.
func routesIn(t testing.TB, nsPath string) (links []string, defaultVia string) {
	t.Helper()
	err := inNetNS(nsPath, false, func(netns.NsHandle) error {
		ls, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range ls {
			links = append(links, l.Attrs().Name)
		}
		rs, err := netlink.RouteList(nil, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
				defaultVia = r.Gw.String()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return links, defaultVia
}

// kernelState is what must be identical before and after a connect/disconnect
// cycle: our rules and the host's interfaces.
func kernelState(t testing.TB) string {
	t.Helper()
	// Only this run's chains, bridges (testBridge) and the veths on them:
	// other packages' tests (iptables, e2e daemons) run at the same time
	// and change the host's rules and links meanwhile.
	ours := regexp.MustCompile(fmt.Sprintf(`\bbtst%05d[a-z]\b`, testRun))
	var b strings.Builder
	for _, table := range []string{"nat", "filter"} {
		out, err := exec.Command("iptables-save", "-t", table).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, testChains) || ours.MatchString(l) {
				b.WriteString(l + "\n")
			}
		}
	}
	links, _ := netlink.LinkList()
	bridges := map[int]bool{}
	for _, l := range links {
		if ours.MatchString(l.Attrs().Name) {
			bridges[l.Attrs().Index] = true
		}
	}
	for _, l := range links {
		if bridges[l.Attrs().Index] || bridges[l.Attrs().MasterIndex] {
			b.WriteString("link " + l.Attrs().Name + "\n")
		}
	}
	return b.String()
}
