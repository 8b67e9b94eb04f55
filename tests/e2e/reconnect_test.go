package e2e

import (
	"strings"
	"testing"
)

// A running container disconnected from the network it was started on
// (run --network NET, or the default bridge) can be connected to it again,
// as Docker allows, and then reaches a neighbour on it: by name through the
// embedded DNS on a user network, by address on the default bridge. A
// second connect while attached is still refused.
func TestNetworkReconnectPrimary(t *testing.T) {
	d := sharedDaemon(t, "net")
	c := d.Docker(t)
	nw := uniq("reconn")
	sub, _ := netSubnet(d, 70)
	createNet(t, c, nw, "--subnet", sub)
	for _, tc := range []struct{ net, how string }{{nw, "name"}, {"bridge", "address"}} {
		ctr, peer := uniq("reconn-c"), uniq("reconn-p")
		for _, name := range []string{ctr, peer} {
			c.Must(t, "run", "-d", "--name", name, "--network", tc.net, "busybox", "sleep", "1d")
			t.Cleanup(func() { c.Run(t, "rm", "-f", name) })
		}
		target := peer
		if tc.how == "address" {
			target = netIP(t, c, peer, tc.net)
		}
		c.Must(t, "network", "disconnect", tc.net, ctr)
		if out := c.Must(t, "exec", ctr, "ip", "-o", "-4", "addr"); strings.Contains(out, "eth0") {
			t.Errorf("%s: after disconnect the container still has eth0:\n%s", tc.net, out)
		}
		c.Must(t, "network", "connect", tc.net, ctr)
		ip := netIP(t, c, ctr, tc.net)
		if out := c.Must(t, "exec", ctr, "ip", "-o", "-4", "addr"); !strings.Contains(out, ip+"/") {
			t.Errorf("%s: after reconnect the container lacks %s:\n%s", tc.net, ip, out)
		}
		if r := c.Run(t, "exec", ctr, "ping", "-c1", "-W5", target); r.Exit != 0 {
			t.Errorf("%s: after reconnect, ping %s (%s): %s", tc.net, target, tc.how, r)
		}
		if r := c.Run(t, "network", "connect", tc.net, ctr); r.Exit == 0 || !strings.Contains(r.Stderr, "already exists") {
			t.Errorf("%s: a second connect: %s, want an already exists error", tc.net, r)
		}
	}
}
