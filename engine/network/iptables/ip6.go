package iptables

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// IPv6: the same owned chains and jumps in ip6tables' tables (the
// nf_tables "ip6" family), rendered from the networks that have IPv6
// enabled. Kept apart from the IPv4 renderers so each stays a plain
// function of its inputs.

// RenderNetworks6 returns the ip6tables-restore input for the per-network
// chains; each Network's Subnet is its IPv6 subnet. Forwarding policy is
// the IPv4 one (ICC, internal, isolation), NAT is masquerade of the subnet
// leaving elsewhere and hairpin; there is no loopback rule because IPv6 has
// no route_localnet (::1 cannot be forwarded to a container).
func (c Chains) RenderNetworks6(nets []Network) string {
	nets = append([]Network(nil), nets...)
	sort.Slice(nets, func(i, j int) bool { return nets[i].Bridge < nets[j].Bridge })
	f := c.renderForward(nets)
	var n strings.Builder

	n.WriteString("*nat\n")
	fmt.Fprintf(&n, ":%s - [0:0]\n", c.Post())
	for _, nw := range nets {
		br, sub := nw.Bridge, nw.Subnet.Masked().String()
		if nw.Masquerade && !nw.Internal {
			fmt.Fprintf(&n, "-A %s -s %s ! -o %s -j MASQUERADE\n", c.Post(), sub, br)
		}
		fmt.Fprintf(&n, "-A %s -s %s -o %s -m conntrack --ctstate DNAT -j MASQUERADE\n", c.Post(), sub, br)
	}
	n.WriteString("COMMIT\n")
	return f + n.String()
}

// RenderPorts6 returns the ip6tables-restore input for published ports
// whose HostIP and ContainerIP are IPv6 (HostIP "::" = every host address
// but ::1).
func (c Chains) RenderPorts6(ports []Port) string {
	ports = append([]Port(nil), ports...)
	sort.Slice(ports, func(i, j int) bool {
		a, b := ports[i], ports[j]
		if a.HostPort != b.HostPort {
			return a.HostPort < b.HostPort
		}
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		return a.HostIP.Less(b.HostIP)
	})
	var f, n strings.Builder
	fmt.Fprintf(&n, "*nat\n:%s - [0:0]\n", c.DNAT())
	fmt.Fprintf(&f, "*filter\n:%s - [0:0]\n", c.Accept())
	for _, p := range ports {
		// ::1 is left out of "every address": it cannot be forwarded (no
		// route_localnet in IPv6), so the host's own connections to
		// [::1]:port are refused at once instead of hanging.
		dst := "! -d ::1/128 "
		if p.HostIP.IsValid() && !p.HostIP.IsUnspecified() {
			dst = "-d " + p.HostIP.String() + "/128 "
		}
		fmt.Fprintf(&n, "-A %s %s-p %s -m %s --dport %d -j DNAT --to-destination [%s]:%d\n",
			c.DNAT(), dst, p.Proto, p.Proto, p.HostPort, p.ContainerIP, p.ContainerPort)
		fmt.Fprintf(&f, "-A %s -d %s/128 -o %s -p %s -m %s --dport %d -j ACCEPT\n",
			c.Accept(), p.ContainerIP, p.Bridge, p.Proto, p.Proto, p.ContainerPort)
	}
	n.WriteString("COMMIT\n")
	f.WriteString("COMMIT\n")
	return n.String() + f.String()
}

// Apply6 runs one ip6tables-restore --noflush transaction.
func Apply6(ctx context.Context, rules string) error {
	cmd := exec.CommandContext(ctx, "ip6tables-restore", "--noflush", "-w")
	cmd.Stdin = strings.NewReader(rules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip6tables-restore: %v: %s (set \"ip6tables\": false in daemon.json to run IPv6 networks without Berth's IPv6 rules)", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func run6(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ip6tables", append([]string{"-w"}, args...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("ip6tables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// EnsureChains6 creates the owned ip6tables chains that do not exist yet.
func (c Chains) EnsureChains6(ctx context.Context) error {
	var b strings.Builder
	for _, table := range []string{"nat", "filter"} {
		out, err := run6(ctx, "-t", table, "-S")
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == "-N" {
				have[f[1]] = true
			}
		}
		fmt.Fprintf(&b, "*%s\n", table)
		for _, ch := range c.owned()[table] {
			if !have[ch] {
				fmt.Fprintf(&b, ":%s - [0:0]\n", ch)
			}
		}
		b.WriteString("COMMIT\n")
	}
	return Apply6(ctx, b.String())
}

// EnsureJumps6 makes each built-in ip6tables chain hold exactly one jump
// into Berth's chains, as EnsureJumps for IPv4.
func (c Chains) EnsureJumps6(ctx context.Context) error {
	for _, j := range c.jumps() {
		if j.table == "raw" {
			// The raw chains are IPv4's (renderLocalnet, per-port direct
			// drops); IPv6 needs no loopback drop: the kernel discards ::1
			// arriving on any interface but lo.
			continue
		}
		out, err := run6(ctx, "-t", j.table, "-S", j.chain)
		if err != nil {
			return err
		}
		want := "-A " + j.chain + " " + strings.Join(j.args, " ")
		n := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.TrimSpace(l) == want {
				n++
			}
		}
		for ; n > 1; n-- {
			if _, err := run6(ctx, append([]string{"-t", j.table, "-D", j.chain}, j.args...)...); err != nil {
				return err
			}
		}
		if n == 0 {
			if _, err := run6(ctx, append([]string{"-t", j.table, "-I", j.chain, "1"}, j.args...)...); err != nil {
				return err
			}
		}
	}
	return nil
}

// RemoveAll6 deletes the ip6tables jumps and owned chains; missing pieces
// are not errors.
func (c Chains) RemoveAll6(ctx context.Context) error {
	for _, j := range c.jumps() {
		for i := 0; i < 16; i++ {
			if _, err := run6(ctx, append([]string{"-t", j.table, "-D", j.chain}, j.args...)...); err != nil {
				break
			}
		}
	}
	for table, chains := range c.owned() {
		for _, ch := range chains {
			run6(ctx, "-t", table, "-F", ch)
		}
		for _, ch := range chains {
			run6(ctx, "-t", table, "-X", ch)
		}
	}
	return nil
}
