package e2e

// Issue 10 item 1: containers must not reach services bound only to the
// host's loopback. Bridges carry route_localnet=1 (loopback publishing
// without a proxy), so without a filter a packet a container sends to
// 127.0.0.0/8 through its gateway is accepted by the host. Both ways in are
// tried on the default bridge and on a user network: the route trick with
// NET_ADMIN, and a hand-made Ethernet frame from the container's netns (what
// NET_RAW, a default capability, allows). Loopback publishing must keep
// working. Traffic goes only to 127.0.0.1 and to the test daemon's bridges.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/tests/internal/daemontest"

	"golang.org/x/sys/unix"
)

// hostServer serves HTTP on addr (port 0: any free one) in the test
// process, that is on the host, and counts the requests it got.
type hostServer struct {
	URL  string
	hits atomic.Int32
}

func serveHost(t *testing.T, addr, body string) *hostServer {
	t.Helper()
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	hs := &hostServer{URL: "http://" + l.Addr().String() + "/"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.hits.Add(1)
		fmt.Fprint(w, body)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return hs
}

// localnetNetworks runs f on the default bridge and on a user network.
func localnetNetworks(t *testing.T, f func(t *testing.T, d *Daemon, network string)) {
	d := sharedDaemon(t, "net")
	t.Run("default-bridge", func(t *testing.T) { f(t, d, "bridge") })
	t.Run("user-network", func(t *testing.T) {
		nw := uniq("lonet")
		sub, _ := netSubnet(d, 7)
		createNet(t, d.Berth(), nw, "--subnet", sub)
		f(t, d, nw)
	})
}

func netGateway(t *testing.T, c CLI, network string) string {
	t.Helper()
	gw := c.Must(t, "network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", network)
	if net.ParseIP(gw) == nil {
		t.Fatalf("gateway of %s: %q", network, gw)
	}
	return gw
}

// The route trick needs NET_ADMIN: 127.0.0.0/8 is taken off the
// container's lo and routed through the gateway. Datagrams show the hole: a
// TCP handshake cannot complete this way even without the filter (the
// host's SYN-ACK from 127.0.0.1 is a martian in the container), but a UDP
// service on the host's loopback (a stub resolver, a metrics agent) gets
// the datagram. busybox has no UDP nc; tftp sends one read request to any
// HOST PORT, with the file name as a marker.
func TestContainerCannotReachHostLoopbackByRoute(t *testing.T) {
	localnetNetworks(t, func(t *testing.T, d *Daemon, network string) {
		probeLoopbackByRoute(t, d.Berth(), network, true)
	})
}

// probeLoopbackByRoute runs the route trick above in a container on
// network, started with runArgs (an isolation), and fails t if a datagram
// reaches the host's loopback. Unless the trick is required, a container
// where it is refused (no NET_ADMIN over the netns in a user namespace)
// goes on sending: the control datagrams prove it was.
func probeLoopbackByRoute(t *testing.T, b CLI, network string, trickRequired bool, runArgs ...string) {
	t.Helper()
	onTrickFailure := "exit 9"
	if !trickRequired {
		onTrickFailure = "true"
	}
	{
		gw := netGateway(t, b, network)
		lo := listenUDP(t, "127.0.0.1:0")
		ctl := listenUDP(t, gw+":0")
		loPort, ctlPort := lo.LocalAddr().(*net.UDPAddr).Port, ctl.LocalAddr().(*net.UDPAddr).Port
		tftp := func(marker, host string, port int) string {
			return fmt.Sprintf("tftp -g -r %s -l /dev/null %s %d & ", marker, host, port)
		}
		// Each round sends to the host's loopback first, then the control
		// datagram to the gateway, which proves the container reaches the
		// host after the trick.
		script := "ip addr del 127.0.0.1/8 dev lo && ip route add 127.0.0.0/8 via " + gw + " || " + onTrickFailure + "; " +
			"while :; do " + tftp("to-loopback", "127.0.0.1", loPort) + "a=$!; " + tftp("control", gw, ctlPort) + "b=$!; " +
			"sleep 1; kill $a $b; done"
		name := uniq("route")
		args := append(append([]string{"run", "-d", "--name", name, "--network", network, "--cap-add", "NET_ADMIN"}, runArgs...), "busybox", "sh", "-c", script)
		b.Must(t, args...)
		t.Cleanup(func() { b.Run(t, "rm", "-f", name) })
		// Control datagrams from two tftp processes (tftp retransmits, so
		// count senders, not datagrams): a round is complete, and the
		// loopback datagram sent before it was delivered or dropped.
		controls := map[int]bool{}
		eventually(t, 20*time.Second, func() error {
			ctl.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			buf := make([]byte, 64)
			n, from, err := ctl.ReadFromUDP(buf)
			if err == nil && strings.Contains(string(buf[:n]), "control") {
				controls[from.Port] = true
			}
			if len(controls) >= 2 {
				return nil
			}
			return fmt.Errorf("control datagrams from %d senders in the container at %s:%d (%v); container: %s", len(controls), gw, ctlPort, err,
				b.Run(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name).Out())
		})
		if got, from, ok := recvNow(t, lo); ok {
			t.Errorf("a container reached a UDP socket bound to the host's 127.0.0.1 (from %s: %q)", from, got)
		}
	}
}

func TestContainerCannotReachHostLoopbackByRawFrame(t *testing.T) {
	localnetNetworks(t, func(t *testing.T, d *Daemon, network string) {
		b := d.Berth()
		gw := netip.MustParseAddr(netGateway(t, b, network))
		bridge := b.Must(t, "network", "inspect", "--format", `{{with index .Options "com.docker.network.bridge.name"}}{{.}}{{else}}br-{{printf "%.12s" .Id}}{{end}}`, network)
		name := uniq("raw")
		b.Must(t, "run", "-d", "--name", name, "--network", network, "busybox", "sleep", "600")
		t.Cleanup(func() { b.Run(t, "rm", "-f", name) })
		var pid int
		fmt.Sscan(b.Must(t, "inspect", "--format", "{{.State.Pid}}", name), &pid)
		ip := netip.MustParseAddr(netIP(t, b, name, network))
		// Read once the container's veth is on the bridge: a bridge without
		// a fixed address takes the lowest of its ports'.
		brMAC, err := os.ReadFile("/sys/class/net/" + bridge + "/address")
		if err != nil {
			t.Fatalf("bridge %s of %s: %v", bridge, network, err)
		}
		gwMAC, err := net.ParseMAC(strings.TrimSpace(string(brMAC)))
		if err != nil {
			t.Fatal(err)
		}

		lo := listenUDP(t, "127.0.0.1:0")
		ctl := listenUDP(t, gw.String()+":0")
		loPort := uint16(lo.LocalAddr().(*net.UDPAddr).Port)
		ctlPort := uint16(ctl.LocalAddr().(*net.UDPAddr).Port)
		send := packetSender(t, pid, gwMAC)
		lb := netip.MustParseAddr("127.0.0.1")
		// Each round sends the frames that must be dropped first, then the
		// control frame on the same path; once a control datagram is in, the
		// earlier frames of its round have been delivered or dropped.
		eventually(t, 10*time.Second, func() error {
			send(ip, lb, loPort, "to-loopback")
			send(lb, gw, ctlPort, "from-loopback")
			send(ip, gw, ctlPort, "control")
			ctl.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			buf := make([]byte, 64)
			n, from, err := ctl.ReadFromUDP(buf)
			if err != nil {
				return fmt.Errorf("no control datagram from the container at the gateway: %v", err)
			}
			if from.IP.IsLoopback() {
				t.Fatalf("a frame from the container with source %s reached the host: %q", from, buf[:n])
			}
			return nil
		})
		if n, from, ok := recvNow(t, lo); ok {
			t.Errorf("a raw frame from the container reached a socket bound to the host's 127.0.0.1 (from %s: %q)", from, n)
		}
		// Drain the control socket: a datagram "from-loopback" queued behind
		// the control one would have passed the filter too.
		for {
			n, from, ok := recvNow(t, ctl)
			if !ok {
				break
			}
			if from.Addr().Unmap().IsLoopback() {
				t.Errorf("a frame with source %s reached the host: %q", from, n)
			}
		}
	})
}

// Loopback publishing still works: the host reaches -p 127.0.0.1::80.
func TestLoopbackPublishStillAnswers(t *testing.T) {
	localnetNetworks(t, func(t *testing.T, d *Daemon, network string) {
		b := d.Berth()
		name := uniq("lopub")
		runHttpd(t, b, name, "published", "--network", network, "-p", "127.0.0.1::80")
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort(t, b, name, "127.0.0.1")), "published")
	})
}

func listenUDP(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp4", a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recvNow returns a datagram already queued on c, without waiting.
func recvNow(t *testing.T, c *net.UDPConn) (string, netip.AddrPort, bool) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	var n int
	var from unix.Sockaddr
	var rerr error
	rc.Read(func(fd uintptr) bool {
		n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		return true
	})
	if rerr != nil {
		if !errors.Is(rerr, unix.EAGAIN) {
			t.Fatal(rerr)
		}
		return "", netip.AddrPort{}, false
	}
	var ap netip.AddrPort
	if sa, ok := from.(*unix.SockaddrInet4); ok {
		ap = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	}
	return string(buf[:n]), ap, true
}

// inNetNS runs fn on a thread inside the network namespace at nsPath;
// sockets fn opens stay in that namespace. The thread is discarded if it
// cannot return to the host's namespace.
func inNetNS(nsPath string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		host, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer host.Close()
		ns, err := os.Open(nsPath)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		err = fn()
		if unix.Setns(int(host.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// packetSender opens an AF_PACKET socket on eth0 inside the network
// namespace of process pid (a container's), as a process in the container
// holding NET_RAW can, and returns a function that sends one UDP datagram
// in an Ethernet frame addressed to dstMAC (the bridge: the gateway), with
// whatever IP addresses it is given.
func packetSender(t *testing.T, pid int, dstMAC net.HardwareAddr) func(src, dst netip.Addr, port uint16, payload string) {
	t.Helper()
	var fd, ifindex int
	var mac net.HardwareAddr
	err := inNetNS(fmt.Sprintf("/proc/%d/ns/net", pid), func() error {
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		ifindex, mac = ifc.Index, ifc.HardwareAddr
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		return err
	})
	if err != nil {
		t.Fatalf("packet socket in the container's netns: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	to := &unix.SockaddrLinklayer{Ifindex: ifindex, Halen: 6, Protocol: 0x0008} // htons(ETH_P_IP)
	copy(to.Addr[:], dstMAC)
	return func(src, dst netip.Addr, port uint16, payload string) {
		frame := udpFrame(mac, dstMAC, src, dst, 40000, port, []byte(payload))
		if err := unix.Sendto(fd, frame, 0, to); err != nil {
			t.Fatalf("send frame: %v", err)
		}
	}
}

// udpFrame builds Ethernet + IPv4 + UDP (no UDP checksum, allowed in IPv4).
func udpFrame(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	copy(f[0:6], dstMAC)
	copy(f[6:12], srcMAC)
	binary.BigEndian.PutUint16(f[12:14], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(20+8+len(payload)))
	binary.BigEndian.PutUint16(ip[6:8], 0x4000) // DF
	ip[8], ip[9] = 64, 17
	s, d := src.As4(), dst.As4()
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i : i+2]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:12], ^uint16(sum))
	udp := f[34:42]
	binary.BigEndian.PutUint16(udp[0:2], sport)
	binary.BigEndian.PutUint16(udp[2:4], dport)
	binary.BigEndian.PutUint16(udp[4:6], uint16(8+len(payload)))
	copy(f[42:], payload)
	return f
}

// Issue 10 item 13: a network on a reserved range would put, say,
// 127.0.0.1/8 on a host bridge with a MASQUERADE rule. It is a 400 that
// says why, and nothing is created.
func TestNetworkOnReservedRangeRefused(t *testing.T) {
	d := sharedDaemon(t, "net")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		for _, sub := range []string{"127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/24"} {
			name := uniq("reserved")
			r := c.Run(t, "network", "create", "--subnet", sub, name)
			if r.Exit == 0 {
				c.Run(t, "network", "rm", name)
			}
			if r.Exit == 0 || !strings.Contains(r.Stderr, "reserved") {
				t.Errorf("network create --subnet %s: %s\nwant a refusal saying the range is reserved", sub, r)
			}
			if r := c.Run(t, "network", "inspect", name); r.Exit == 0 {
				t.Errorf("the refused network %s exists", name)
			}
		}
	})
	status, _, body := d.API(t, "POST", "/v1.47/networks/create", "application/json",
		`{"Name":"`+uniq("reserved")+`","IPAM":{"Config":[{"Subnet":"127.0.0.0/8"}]}}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "loopback") {
		t.Errorf("POST /networks/create on 127.0.0.0/8: HTTP %d %s, want 400 naming loopback", status, body)
	}
}

// The same class from the other side (moby#49325): a neighbour that routes
// the bridge's subnet through this host must reach a published port only
// through the mapping on a host address, not at ContainerIP:ContainerPort
// directly, past the mapping's host-address restriction. The neighbour is
// a network namespace on a veth link of its own.
func TestNeighbourCannotBypassPortMapping(t *testing.T) {
	d := sharedDaemon(t, "net")
	b := d.Berth()
	link, hostIP, err := daemontest.FreeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	nbIP := hostIP.Next()
	ns := fmt.Sprintf("bnb%s", strings.ReplaceAll(uniq(d.Net), "-", ""))
	hostIf := fmt.Sprintf("vnb%d", nameSeq.Add(1)+int64(os.Getpid()%10000)*1000)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns)
	t.Cleanup(func() { exec.Command("ip", "link", "del", hostIf).Run() })
	ip("addr", "add", netip.PrefixFrom(hostIP, link.Bits()).String(), "dev", hostIf)
	ip("link", "set", hostIf, "up")
	ip("-n", ns, "addr", "add", netip.PrefixFrom(nbIP, link.Bits()).String(), "dev", "eth0")
	ip("-n", ns, "link", "set", "eth0", "up")
	bridgeSubnet := b.Must(t, "network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}", "bridge")
	ip("-n", ns, "route", "add", bridgeSubnet, "via", hostIP.String())

	name := uniq("direct")
	hp := freeHostPort(t)
	runHttpd(t, b, name, "direct", "-p", fmt.Sprintf("%d:80", hp))
	cip := netIP(t, b, name, "bridge")
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hp), "direct")

	nsPath := "/run/netns/" + ns
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := inNetNS(nsPath, func() error {
				var err error
				c, err = (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
	get := func(url string) (string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(body)), err
	}
	// Control: the neighbour reaches the mapping on the host's address.
	eventually(t, 10*time.Second, func() error {
		got, err := get(fmt.Sprintf("http://%s:%d/index.html", hostIP, hp))
		if err != nil || got != "direct" {
			return fmt.Errorf("neighbour to the published port %s:%d: %q, %v", hostIP, hp, got, err)
		}
		return nil
	})
	if got, err := get("http://" + cip + ":80/index.html"); err == nil {
		t.Errorf("a neighbour reached the container directly at %s:80 (%q), bypassing the port mapping", cip, got)
	}
}
