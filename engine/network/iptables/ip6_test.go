package iptables

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestRenderNetworks6(t *testing.T) {
	c := Chains{Prefix: "BX"}
	nets := []Network{
		{Bridge: "brb", Subnet: netip.MustParsePrefix("fd42:1::/64"), ICC: false, Masquerade: true},
		{Bridge: "bra", Subnet: netip.MustParsePrefix("fd42:0::/64"), ICC: true, Masquerade: true},
		{Bridge: "brc", Subnet: netip.MustParsePrefix("fd42:2::/64"), ICC: true, Internal: true},
	}
	out := c.RenderNetworks6(nets)
	for _, want := range []string{
		"-A BX-FORWARD -j BX-ISOLATION-1\n",
		"-A BX-FORWARD -i bra -o bra -j ACCEPT\n",
		"-A BX-FORWARD -i brb -o brb -j DROP\n",
		"-A BX-FORWARD -i brc ! -o brc -j DROP\n",
		"-A BX-FORWARD -o bra -j DROP\n",
		"-A BX-ISOLATION-2 -o brc -j DROP\n",
		"-A BX-POSTROUTING -s fd42::/64 ! -o bra -j MASQUERADE\n",
		"-A BX-POSTROUTING -s fd42:1::/64 -o brb -m conntrack --ctstate DNAT -j MASQUERADE\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered rules lack %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"-s fd42:2::/64 ! -o brc -j MASQUERADE", "-A BX-FORWARD -i brc ! -o brc -j ACCEPT", "--src-type LOCAL"} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered IPv6 rules hold %q:\n%s", bad, out)
		}
	}
	if c.RenderNetworks6([]Network{nets[2], nets[0], nets[1]}) != out {
		t.Error("output depends on input order")
	}
}

func TestRenderPorts6(t *testing.T) {
	c := Chains{Prefix: "BX"}
	out := c.RenderPorts6([]Port{
		{Bridge: "bra", Proto: "udp", HostIP: netip.MustParseAddr("fd00:5::1"), HostPort: 53, ContainerIP: netip.MustParseAddr("fd42::3"), ContainerPort: 5353},
		{Bridge: "bra", Proto: "tcp", HostIP: netip.IPv6Unspecified(), HostPort: 8080, ContainerIP: netip.MustParseAddr("fd42::2"), ContainerPort: 80},
	})
	for _, want := range []string{
		"-A BX ! -d ::1/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd42::2]:80\n",
		"-A BX -d fd00:5::1/128 -p udp -m udp --dport 53 -j DNAT --to-destination [fd42::3]:5353\n",
		"-A BX -d fd42::2/128 -o bra -p tcp -m tcp --dport 80 -j ACCEPT\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered rules lack %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "--dport 53 ") > strings.Index(out, "--dport 8080 ") {
		t.Errorf("ports not sorted:\n%s", out)
	}
}

// TestApply6Idempotent applies the IPv6 rules through ip6tables (nf_tables)
// several times and checks each rule and jump exists once, then that
// RemoveAll6 leaves nothing.
func TestApply6Idempotent(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("ip6tables-restore"); err != nil {
		t.Skip("ip6tables not installed")
	}
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		t.Skip("IPv6 disabled in the kernel")
	}
	ctx := context.Background()
	c := Chains{Prefix: "BTSTIP6"}
	t.Cleanup(func() { c.RemoveAll6(ctx) })
	nets := []Network{{Bridge: "btstip60", Subnet: netip.MustParsePrefix("fd42:99::/64"), ICC: true, Masquerade: true}}
	ports := []Port{{Bridge: "btstip60", Proto: "tcp", HostIP: netip.IPv6Unspecified(), HostPort: 18080, ContainerIP: netip.MustParseAddr("fd42:99::2"), ContainerPort: 80}}
	for i := 0; i < 3; i++ {
		if err := c.EnsureChains6(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.EnsureJumps6(ctx); err != nil {
			t.Fatal(err)
		}
		if err := Apply6(ctx, c.RenderNetworks6(nets)+c.RenderPorts6(ports)); err != nil {
			t.Fatal(err)
		}
	}
	save := func(table string) string {
		out, err := exec.Command("ip6tables-save", "-t", table).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	nat, filter := save("nat"), save("filter")
	for _, l := range []struct{ text, rule string }{
		{nat, "-A POSTROUTING -j BTSTIP6-POSTROUTING"},
		{nat, "-A BTSTIP6 ! -d ::1/128 -p tcp -m tcp --dport 18080 -j DNAT --to-destination [fd42:99::2]:80"},
		{nat, "-A BTSTIP6-POSTROUTING -s fd42:99::/64 ! -o btstip60 -j MASQUERADE"},
		{filter, "-A FORWARD -j BTSTIP6-FORWARD"},
		{filter, "-A BTSTIP6-FORWARD -i btstip60 -o btstip60 -j ACCEPT"},
	} {
		if n := strings.Count(l.text, l.rule+"\n"); n != 1 {
			t.Errorf("%q present %d times, want 1", l.rule, n)
		}
	}
	c.RemoveAll6(ctx)
	if strings.Contains(save("nat")+save("filter"), "BTSTIP6") {
		t.Error("RemoveAll6 left rules behind")
	}
}
