package iptables

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestRenderNetworks(t *testing.T) {
	c := Chains{Prefix: "BX"}
	out := c.RenderNetworks([]Network{
		{Bridge: "brb", Subnet: netip.MustParsePrefix("10.213.1.0/24"), ICC: false, Masquerade: true},
		{Bridge: "bra", Subnet: netip.MustParsePrefix("10.213.0.0/24"), ICC: true, Masquerade: true},
		{Bridge: "brc", Subnet: netip.MustParsePrefix("10.213.2.0/24"), ICC: true, Internal: true},
	})
	for _, want := range []string{
		":BX-FORWARD - [0:0]",
		"-A BX-FORWARD -j BX-ISOLATION-1\n",
		"-A BX-FORWARD -i bra -o bra -j ACCEPT\n",
		"-A BX-FORWARD -i brb -o brb -j DROP\n",
		"-A BX-FORWARD -i brc ! -o brc -j DROP\n",
		"-A BX-ISOLATION-1 -i bra ! -o bra -j BX-ISOLATION-2\n",
		"-A BX-ISOLATION-2 -o brc -j DROP\n",
		"-A BX-POSTROUTING -s 10.213.0.0/24 ! -o bra -j MASQUERADE\n",
		"-A BX-POSTROUTING -o bra -m addrtype --src-type LOCAL -j MASQUERADE\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered rules lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "-s 10.213.2.0/24 ! -o brc -j MASQUERADE") {
		t.Error("internal network is masqueraded")
	}
	if strings.Contains(out, "-A BX-FORWARD -i brc ! -o brc -j ACCEPT") {
		t.Error("internal network may send outside")
	}
	// Deterministic: order of input does not matter.
	out2 := c.RenderNetworks([]Network{
		{Bridge: "brc", Subnet: netip.MustParsePrefix("10.213.2.0/24"), ICC: true, Internal: true},
		{Bridge: "bra", Subnet: netip.MustParsePrefix("10.213.0.0/24"), ICC: true, Masquerade: true},
		{Bridge: "brb", Subnet: netip.MustParsePrefix("10.213.1.0/24"), ICC: false, Masquerade: true},
	})
	if out != out2 {
		t.Error("rendering depends on input order")
	}
}

// Every bridge, internal or not, drops what a container addresses to (or
// pretends comes from) the host's loopback, in the raw table, before NAT.
func TestRenderNetworksLocalnetDrop(t *testing.T) {
	c := Chains{Prefix: "BX"}
	nets := []Network{
		{Bridge: "bra", Subnet: netip.MustParsePrefix("10.213.0.0/24"), ICC: true, Masquerade: true},
		{Bridge: "brc", Subnet: netip.MustParsePrefix("10.213.2.0/24"), ICC: true, Internal: true},
	}
	out := c.RenderNetworks(nets)
	raw := out[strings.Index(out, "*raw\n"):]
	want := "*raw\n:BX-PREROUTING - [0:0]\n" +
		"-A BX-PREROUTING -j BX-DIRECT\n" +
		"-A BX-PREROUTING -d 127.0.0.0/8 -i bra -j DROP\n" +
		"-A BX-PREROUTING -s 127.0.0.0/8 -i bra -j DROP\n" +
		"-A BX-PREROUTING -d 127.0.0.0/8 -i brc -j DROP\n" +
		"-A BX-PREROUTING -s 127.0.0.0/8 -i brc -j DROP\n" +
		"COMMIT\n"
	if raw != want {
		t.Errorf("raw table:\n%s\nwant:\n%s", raw, want)
	}
	// No network left: the chain is declared (so flushed) and empty.
	if out := c.RenderNetworks(nil); !strings.HasSuffix(out, "*raw\n:BX-PREROUTING - [0:0]\n-A BX-PREROUTING -j BX-DIRECT\nCOMMIT\n") {
		t.Errorf("no networks: raw table not emptied:\n%s", out)
	}
	var j bool
	for _, jp := range c.jumps() {
		if jp.table == "raw" && jp.chain == "PREROUTING" && strings.Join(jp.args, " ") == "-j BX-PREROUTING" {
			j = true
		}
	}
	if !j {
		t.Error("no jump from raw PREROUTING into BX-PREROUTING")
	}
}

func TestRenderPorts(t *testing.T) {
	c := Chains{}
	out := c.RenderPorts([]Port{
		{Bridge: "berth0", Proto: "tcp", HostPort: 8080, ContainerIP: netip.MustParseAddr("172.17.0.2"), ContainerPort: 80},
		{Bridge: "berth0", Proto: "udp", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 53, ContainerIP: netip.MustParseAddr("172.17.0.3"), ContainerPort: 5353},
	})
	for _, want := range []string{
		"-A BERTH -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n",
		"-A BERTH -d 127.0.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 172.17.0.3:5353\n",
		"-A BERTH -d 172.17.0.2/32 -o berth0 -p tcp -m tcp --dport 80 -j ACCEPT\n",
		"*raw\n:BERTH-DIRECT - [0:0]\n",
		"-A BERTH-DIRECT -d 172.17.0.2/32 ! -i berth0 -p tcp -m tcp --dport 80 -j DROP\n",
		"-A BERTH-DIRECT -d 172.17.0.3/32 ! -i berth0 -p udp -m udp --dport 5353 -j DROP\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered rules lack %q:\n%s", want, out)
		}
	}
}

// TestApplyIdempotent applies the same state several times (as restarts do)
// and checks each rule and jump is present exactly once.
func TestApplyIdempotent(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("iptables-restore"); err != nil {
		t.Skip("iptables not installed")
	}
	ctx := context.Background()
	c := Chains{Prefix: "BTSTIPT"}
	t.Cleanup(func() { c.RemoveAll(ctx) })
	nets := []Network{{Bridge: "btstipt0", Subnet: netip.MustParsePrefix("10.213.99.0/24"), ICC: true, Masquerade: true}}
	ports := []Port{{Bridge: "btstipt0", Proto: "tcp", HostPort: 18080, ContainerIP: netip.MustParseAddr("10.213.99.2"), ContainerPort: 80}}
	for i := 0; i < 3; i++ {
		if err := c.EnsureChains(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.EnsureJumps(ctx); err != nil {
			t.Fatal(err)
		}
		if err := Apply(ctx, c.RenderNetworks(nets)+c.RenderPorts(ports)); err != nil {
			t.Fatal(err)
		}
	}
	// A crash between "insert jump" and bookkeeping could leave a duplicate jump.
	exec.Command("iptables", "-t", "nat", "-A", "POSTROUTING", "-j", "BTSTIPT-POSTROUTING").Run()
	if err := c.EnsureJumps(ctx); err != nil {
		t.Fatal(err)
	}
	save := func(table string) string {
		out, err := exec.Command("iptables-save", "-t", table).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	nat, filter, raw := save("nat"), save("filter"), save("raw")
	for _, l := range []struct{ text, rule string }{
		{nat, "-A POSTROUTING -j BTSTIPT-POSTROUTING"},
		{nat, "-A OUTPUT -m addrtype --dst-type LOCAL -j BTSTIPT"},
		{nat, "-A BTSTIPT -p tcp -m tcp --dport 18080 -j DNAT --to-destination 10.213.99.2:80"},
		{filter, "-A FORWARD -j BTSTIPT-FORWARD"},
		{filter, "-A BTSTIPT-FORWARD -i btstipt0 -o btstipt0 -j ACCEPT"},
		{raw, "-A PREROUTING -j BTSTIPT-PREROUTING"},
		{raw, "-A BTSTIPT-PREROUTING -d 127.0.0.0/8 -i btstipt0 -j DROP"},
		{raw, "-A BTSTIPT-PREROUTING -j BTSTIPT-DIRECT"},
		{raw, "-A BTSTIPT-DIRECT -d 10.213.99.2/32 ! -i btstipt0 -p tcp -m tcp --dport 80 -j DROP"},
	} {
		if n := strings.Count(l.text, l.rule+"\n"); n != 1 {
			t.Errorf("%q present %d times, want 1", l.rule, n)
		}
	}
	c.RemoveAll(ctx)
	if strings.Contains(save("nat")+save("filter")+save("raw"), "BTSTIPT") {
		t.Error("RemoveAll left rules behind")
	}
}
