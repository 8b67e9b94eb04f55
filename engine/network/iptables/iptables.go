package iptables

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"sort"
	"strings"
)

// Chains names the owned chains. Prefix "BERTH" gives BERTH (nat: one DNAT
// per published port; filter: one ACCEPT per published port), BERTH-FORWARD
// (filter: per-network forwarding policy), BERTH-ISOLATION-1/-2 (filter:
// traffic leaving a Berth bridge is dropped if it enters another one),
// BERTH-POSTROUTING (nat: masquerade), BERTH-PREROUTING (raw: what must be
// dropped before conntrack and NAT see it, per network) and BERTH-DIRECT
// (raw, entered from BERTH-PREROUTING: per published port). Another prefix
// lets a second daemon or a test keep fully separate rules on the same host.
type Chains struct {
	Prefix string
}

func (c Chains) p() string {
	if c.Prefix == "" {
		return "BERTH"
	}
	return c.Prefix
}
func (c Chains) DNAT() string       { return c.p() }
func (c Chains) Accept() string     { return c.p() }
func (c Chains) Forward() string    { return c.p() + "-FORWARD" }
func (c Chains) Isolation1() string { return c.p() + "-ISOLATION-1" }
func (c Chains) Isolation2() string { return c.p() + "-ISOLATION-2" }
func (c Chains) Post() string       { return c.p() + "-POSTROUTING" }
func (c Chains) RawPre() string     { return c.p() + "-PREROUTING" }
func (c Chains) Direct() string     { return c.p() + "-DIRECT" }

// Network is what the rules need to know about one bridge network.
type Network struct {
	Bridge     string
	Subnet     netip.Prefix
	ICC        bool // containers of the network may talk to each other
	Masquerade bool // outbound NAT (com.docker.network.bridge.enable_ip_masquerade)
	Internal   bool // no traffic in or out of the bridge except between its containers
}

// Port is one published port: HostIP:HostPort (HostIP zero = every host
// address, loopback included) forwarded to ContainerIP:ContainerPort.
type Port struct {
	Bridge        string
	Proto         string // tcp, udp or sctp
	HostIP        netip.Addr
	HostPort      uint16
	ContainerIP   netip.Addr
	ContainerPort uint16
}

// jump is one rule in a built-in chain that enters an owned chain.
type jump struct {
	table, chain string
	args         []string
}

// The jumps, in the order Docker uses: DNAT for local destinations from
// PREROUTING (other hosts, containers) and OUTPUT (the host itself,
// including 127.0.0.1 — Docker excludes loopback there because its proxy
// serves it; Berth has no proxy).
func (c Chains) jumps() []jump {
	return []jump{
		{"nat", "PREROUTING", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", c.DNAT()}},
		{"nat", "OUTPUT", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", c.DNAT()}},
		{"nat", "POSTROUTING", []string{"-j", c.Post()}},
		{"filter", "FORWARD", []string{"-j", c.Forward()}},
		{"raw", "PREROUTING", []string{"-j", c.RawPre()}},
	}
}

func (c Chains) owned() map[string][]string {
	return map[string][]string{
		"nat":    {c.DNAT(), c.Post()},
		"filter": {c.Accept(), c.Forward(), c.Isolation1(), c.Isolation2()},
		"raw":    {c.RawPre(), c.Direct()},
	}
}

// RenderNetworks returns the restore input for the per-network chains.
func (c Chains) RenderNetworks(nets []Network) string {
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
		// Connections from the host to a published port, 127.0.0.1 included
		// (route_localnet lets them leave lo): the container must answer
		// the bridge address, not its own loopback.
		fmt.Fprintf(&n, "-A %s -o %s -m addrtype --src-type LOCAL -j MASQUERADE\n", c.Post(), br)
		// Hairpin: a container reaching a published port of its own bridge
		// (itself or a neighbour) through a host address. Masquerading it
		// makes the reply come back through the host's conntrack even when
		// br_netfilter is not loaded.
		fmt.Fprintf(&n, "-A %s -s %s -o %s -m conntrack --ctstate DNAT -j MASQUERADE\n", c.Post(), sub, br)
	}
	n.WriteString("COMMIT\n")
	return f + n.String() + c.renderLocalnet(nets)
}

// renderLocalnet keeps containers off the host's loopback. Bridges carry
// route_localnet=1 so that a connection from the host to a port published
// on 127.0.0.1 may leave through the bridge after DNAT; the same setting
// would let the kernel accept a packet arriving on a bridge addressed to
// 127.0.0.0/8 (a container routing 127/8 via its gateway, or writing raw
// frames with NET_RAW) and hand it to a service bound to the host's
// loopback only. The raw table sees packets before conntrack and NAT, so
// these rules match only what a container sent: replies to the host's
// loopback connections arrive addressed to the bridge's gateway (they were
// masqueraded) and are de-NATed later. A source in 127.0.0.0/8 is dropped
// as well: it would pose as the host itself to services that trust
// loopback peers. This is moby#49325's drop of loopback-mapping access,
// made general: no loopback destination is reachable from a bridge.
func (c Chains) renderLocalnet(nets []Network) string {
	var r strings.Builder
	fmt.Fprintf(&r, "*raw\n:%s - [0:0]\n", c.RawPre())
	fmt.Fprintf(&r, "-A %s -j %s\n", c.RawPre(), c.Direct())
	for _, nw := range nets {
		fmt.Fprintf(&r, "-A %s -d 127.0.0.0/8 -i %s -j DROP\n", c.RawPre(), nw.Bridge)
		fmt.Fprintf(&r, "-A %s -s 127.0.0.0/8 -i %s -j DROP\n", c.RawPre(), nw.Bridge)
	}
	r.WriteString("COMMIT\n")
	return r.String()
}

// RenderPorts returns the restore input for the published-port chains.
func (c Chains) RenderPorts(ports []Port) string {
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
	var f, n, r strings.Builder
	fmt.Fprintf(&n, "*nat\n:%s - [0:0]\n", c.DNAT())
	fmt.Fprintf(&f, "*filter\n:%s - [0:0]\n", c.Accept())
	fmt.Fprintf(&r, "*raw\n:%s - [0:0]\n", c.Direct())
	for _, p := range ports {
		dst := ""
		if p.HostIP.IsValid() && !p.HostIP.IsUnspecified() {
			dst = "-d " + p.HostIP.String() + "/32 "
		}
		fmt.Fprintf(&n, "-A %s %s-p %s -m %s --dport %d -j DNAT --to-destination %s:%d\n",
			c.DNAT(), dst, p.Proto, p.Proto, p.HostPort, p.ContainerIP, p.ContainerPort)
		fmt.Fprintf(&f, "-A %s -d %s/32 -o %s -p %s -m %s --dport %d -j ACCEPT\n",
			c.Accept(), p.ContainerIP, p.Bridge, p.Proto, p.Proto, p.ContainerPort)
		// The filter rule above accepts the container port for the DNATed
		// connections; without this, a neighbour routing the container's
		// subnet through this host would reach it directly at
		// ContainerIP:ContainerPort, past any host-address restriction of
		// the mapping (moby#49325). Raw PREROUTING sees the destination
		// before DNAT, so DNATed traffic (addressed to the host) passes;
		// the host's own connections never cross PREROUTING, and the
		// container's neighbours arrive on its bridge.
		fmt.Fprintf(&r, "-A %s -d %s/32 ! -i %s -p %s -m %s --dport %d -j DROP\n",
			c.Direct(), p.ContainerIP, p.Bridge, p.Proto, p.Proto, p.ContainerPort)
	}
	n.WriteString("COMMIT\n")
	f.WriteString("COMMIT\n")
	r.WriteString("COMMIT\n")
	return n.String() + f.String() + r.String()
}

// Apply runs one iptables-restore --noflush transaction.
func Apply(ctx context.Context, rules string) error {
	cmd := exec.CommandContext(ctx, "iptables-restore", "--noflush", "-w")
	cmd.Stdin = strings.NewReader(rules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables-restore: %v: %s (is the iptables package installed and are the nf_nat/xt_conntrack/xt_addrtype modules available?)", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "iptables", append([]string{"-w"}, args...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// EnsureChains creates the owned chains that do not exist yet (empty).
func (c Chains) EnsureChains(ctx context.Context) error {
	var b strings.Builder
	for _, table := range []string{"nat", "filter", "raw"} {
		out, err := run(ctx, "-t", table, "-S")
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
		for _, c := range c.owned()[table] {
			if !have[c] {
				fmt.Fprintf(&b, ":%s - [0:0]\n", c)
			}
		}
		b.WriteString("COMMIT\n")
	}
	return Apply(ctx, b.String())
}

// EnsureJumps makes each built-in chain hold exactly one jump into Berth's
// chains, first in the chain for FORWARD (so Docker's policy DROP and
// DOCKER-* chains do not pre-empt ours). Safe after any number of restarts
// or crashes.
func (c Chains) EnsureJumps(ctx context.Context) error {
	for _, j := range c.jumps() {
		n, err := countJump(ctx, j)
		if err != nil {
			return err
		}
		for ; n > 1; n-- {
			if _, err := run(ctx, append([]string{"-t", j.table, "-D", j.chain}, j.args...)...); err != nil {
				return err
			}
		}
		if n == 0 {
			if _, err := run(ctx, append([]string{"-t", j.table, "-I", j.chain, "1"}, j.args...)...); err != nil {
				return err
			}
		}
	}
	return nil
}

func countJump(ctx context.Context, j jump) (int, error) {
	out, err := run(ctx, "-t", j.table, "-S", j.chain)
	if err != nil {
		return 0, err
	}
	want := "-A " + j.chain + " " + strings.Join(j.args, " ")
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == want {
			n++
		}
	}
	return n, nil
}

// RemoveAll deletes the jumps and every owned chain: what an uninstall, or a
// test's cleanup, needs. Missing pieces are not errors.
func (c Chains) RemoveAll(ctx context.Context) error {
	for _, j := range c.jumps() {
		for i := 0; i < 16; i++ {
			if _, err := run(ctx, append([]string{"-t", j.table, "-D", j.chain}, j.args...)...); err != nil {
				break
			}
		}
	}
	for table, chains := range c.owned() {
		for _, c := range chains {
			run(ctx, "-t", table, "-F", c)
		}
		for _, c := range chains {
			run(ctx, "-t", table, "-X", c)
		}
	}
	return nil
}

// renderForward returns the filter table's per-network chains, the same for
// IPv4 and IPv6 (the bridge names decide, not the addresses): ICC, internal
// networks, isolation between bridges, and nothing reaching a container but
// published ports and replies. nets must be sorted.
func (c Chains) renderForward(nets []Network) string {
	var f strings.Builder
	f.WriteString("*filter\n")
	fmt.Fprintf(&f, ":%s - [0:0]\n:%s - [0:0]\n:%s - [0:0]\n", c.Forward(), c.Isolation1(), c.Isolation2())
	fmt.Fprintf(&f, "-A %s -j %s\n", c.Forward(), c.Isolation1())
	for _, nw := range nets {
		br := nw.Bridge
		if nw.Internal {
			// Docker: internal networks neither send to nor receive from outside the bridge.
			fmt.Fprintf(&f, "-A %s -i %s ! -o %s -j DROP\n", c.Forward(), br, br)
			fmt.Fprintf(&f, "-A %s -o %s ! -i %s -j DROP\n", c.Forward(), br, br)
		}
		fmt.Fprintf(&f, "-A %s -o %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", c.Forward(), br)
		fmt.Fprintf(&f, "-A %s -o %s -j %s\n", c.Forward(), br, c.Accept())
		verdict := "ACCEPT"
		if !nw.ICC {
			verdict = "DROP"
		}
		fmt.Fprintf(&f, "-A %s -i %s -o %s -j %s\n", c.Forward(), br, br, verdict)
		if !nw.Internal {
			fmt.Fprintf(&f, "-A %s -i %s ! -o %s -j ACCEPT\n", c.Forward(), br, br)
		}
		// Nothing else reaches a container: only published ports and replies.
		fmt.Fprintf(&f, "-A %s -o %s -j DROP\n", c.Forward(), br)
		fmt.Fprintf(&f, "-A %s -i %s ! -o %s -j %s\n", c.Isolation1(), br, br, c.Isolation2())
		fmt.Fprintf(&f, "-A %s -o %s -j DROP\n", c.Isolation2(), br)
	}
	fmt.Fprintf(&f, "-A %s -j RETURN\n-A %s -j RETURN\nCOMMIT\n", c.Isolation1(), c.Isolation2())
	return f.String()
}
