package e2e

// Issue 12 items 7-9, through the docker CLI: legacy links on the default
// bridge (hosts entries, environment, inspect), link aliases and
// name.network / PTR / hostname answers of the embedded DNS on user
// networks, and dual-stack (IPv6) networks.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func TestLegacyLinksDefaultBridge(t *testing.T) {
	d := sharedDaemon(t, "compatnet")
	c := d.Docker(t)
	db := uniq("db")
	c.Must(t, "run", "-d", "--name", db, "-e", "SECRET=s3 x", "--expose", "5432", "--hostname", "dbhost", "busybox", "sleep", "1d")
	t.Cleanup(func() { c.Run(t, "rm", "-f", db) })
	dbIP := netIP(t, c, db, "bridge")
	web := uniq("web")
	r := c.Run(t, "run", "--name", web, "--link", db+":store", "busybox", "sh", "-c", "cat /etc/hosts; echo ---; env")
	t.Cleanup(func() { c.Run(t, "rm", "-f", web) })
	if r.Exit != 0 {
		t.Fatalf("run --link: %s", r)
	}
	hosts, env, _ := strings.Cut(r.Stdout, "---")
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(dbIP) + `\s+store dbhost ` + regexp.QuoteMeta(db) + `$`).MatchString(hosts) {
		t.Errorf("/etc/hosts has no link entry for %s (%s): %s", db, dbIP, hosts)
	}
	for _, want := range []string{
		"STORE_PORT=tcp://" + dbIP + ":5432",
		"STORE_PORT_5432_TCP=tcp://" + dbIP + ":5432",
		"STORE_PORT_5432_TCP_ADDR=" + dbIP,
		"STORE_PORT_5432_TCP_PORT=5432",
		"STORE_PORT_5432_TCP_PROTO=tcp",
		"STORE_NAME=/" + web + "/store",
		"STORE_ENV_SECRET=s3 x",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(env) {
			t.Errorf("environment lacks %q: %s", want, env)
		}
	}
	if strings.Contains(env, "STORE_ENV_PATH=") {
		t.Errorf("PATH of the linked container must not be passed: %s", env)
	}
	if got := c.Must(t, "inspect", "--format", "{{json .HostConfig.Links}}", web); got != `["/`+db+`:/`+web+`/store"]` {
		t.Errorf("HostConfig.Links = %s", got)
	}
	// docker rm --link removes the link, not the container.
	c.Must(t, "rm", "--link", "/"+web+"/store")
	if got := c.Must(t, "inspect", "--format", "{{json .HostConfig.Links}}", web); got != "null" && got != "[]" {
		t.Errorf("after rm --link, HostConfig.Links = %s", got)
	}
	c.Must(t, "inspect", db)

	// Bad links are refused at create, stopped ones at start.
	if r := c.Run(t, "run", "--rm", "--link", "nosuch-"+db+":x", "busybox", "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "could not get container for nosuch-"+db) {
		t.Errorf("link to a missing container: %s", r)
	}
	if r := c.Run(t, "run", "--rm", "--network", "host", "--link", db, "busybox", "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "conflicting options: host type networking can't be used with links") {
		t.Errorf("link with host networking: %s", r)
	}
	stopped := uniq("stopped")
	c.Must(t, "create", "--name", stopped, "busybox", "true")
	t.Cleanup(func() { c.Run(t, "rm", "-f", stopped) })
	if r := c.Run(t, "run", "--rm", "--link", stopped+":s", "busybox", "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "Cannot link to a non running container") {
		t.Errorf("link to a stopped container: %s", r)
	}
}

// nslookup runs busybox nslookup for name against the embedded DNS in a
// new container on nw and returns its output.
func nslookup(t *testing.T, c CLI, nw, name string, args ...string) Result {
	t.Helper()
	all := append(append([]string{"run", "--rm", "--network", nw}, args...), "busybox", "nslookup", name, "127.0.0.11")
	return c.Run(t, all...)
}

func TestEmbeddedDNSNamesLinksPTR(t *testing.T) {
	d := sharedDaemon(t, "compatnet")
	c := d.Docker(t)
	nw := uniq("dnsnet")
	sub, _ := netSubnet(d, 1)
	createNet(t, c, nw, "--subnet", sub)
	svc := uniq("svc")
	c.Must(t, "run", "-d", "--name", svc, "--network", nw, "--hostname", "svchost", "busybox", "sleep", "1d")
	t.Cleanup(func() { c.Run(t, "rm", "-f", svc) })
	ip := netIP(t, c, svc, nw)

	// DNSNames: name, short ID, hostname (network and container inspect).
	var names []string
	if err := json.Unmarshal([]byte(c.Must(t, "inspect", "--format", `{{json (index .NetworkSettings.Networks "`+nw+`").DNSNames}}`, svc)), &names); err != nil {
		t.Fatal(err)
	}
	if len(names) != 3 || names[0] != svc || names[2] != "svchost" {
		t.Errorf("DNSNames = %v, want [%s <short id> svchost]", names, svc)
	}

	for _, q := range []string{svc, svc + "." + nw, "svchost", "svchost." + nw} {
		if r := nslookup(t, c, nw, q); !strings.Contains(r.Stdout, "Address: "+ip) {
			t.Errorf("nslookup %s: want %s: %s", q, ip, r)
		}
	}
	if r := nslookup(t, c, nw, svc+".nosuchnet"); strings.Contains(r.Stdout, "Address: "+ip) {
		t.Errorf("%s.nosuchnet resolved: %s", svc, r)
	}
	// PTR: name.network, as Docker answers.
	if r := nslookup(t, c, nw, ip); !strings.Contains(r.Stdout, "name = "+svc+"."+nw) {
		t.Errorf("PTR for %s: want %s.%s: %s", ip, svc, nw, r)
	}
	// A link alias resolves for the linking container only.
	if r := nslookup(t, c, nw, "backend", "--link", svc+":backend"); !strings.Contains(r.Stdout, "Address: "+ip) {
		t.Errorf("link alias did not resolve: %s", r)
	}
	if r := nslookup(t, c, nw, "backend"); strings.Contains(r.Stdout, "Address: "+ip) {
		t.Errorf("link alias resolved without the link: %s", r)
	}
	// ...also when given through the endpoint (compose's links:) after network connect.
	peer := uniq("peer")
	c.Must(t, "create", "--name", peer, "busybox", "sleep", "1d")
	t.Cleanup(func() { c.Run(t, "rm", "-f", peer) })
	c.Must(t, "network", "connect", "--link", svc+":api", nw, peer)
	c.Must(t, "start", peer)
	if r := c.Run(t, "exec", peer, "nslookup", "api", "127.0.0.11"); !strings.Contains(r.Stdout, "Address: "+ip) {
		t.Errorf("endpoint link alias did not resolve: %s", r)
	}
	// On a user network the linked container may come after the link.
	later := uniq("later")
	linker := uniq("linker")
	c.Must(t, "run", "-d", "--name", linker, "--network", nw, "--link", later+":lt", "busybox", "sleep", "1d")
	t.Cleanup(func() { c.Run(t, "rm", "-f", linker) })
	c.Must(t, "run", "-d", "--name", later, "--network", nw, "busybox", "sleep", "1d")
	t.Cleanup(func() { c.Run(t, "rm", "-f", later) })
	if r := c.Run(t, "exec", linker, "nslookup", "lt", "127.0.0.11"); !strings.Contains(r.Stdout, "Address: "+netIP(t, c, later, nw)) {
		t.Errorf("link alias to a container created later did not resolve: %s", r)
	}
}

// netSubnet6 is a unique local /64 for IPv6 network i of d, away from the
// host's own fd00::/64.
func netSubnet6(d *Daemon, i int) (subnet, gateway string) {
	p := fmt.Sprintf("fd42:%x:%x:%x", os.Getpid()%0xffff, d.Seq, i)
	return p + "::/64", p + "::1"
}

func TestIPv6Network(t *testing.T) {
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		t.Skip("IPv6 is disabled in this kernel")
	}
	d := sharedDaemon(t, "compatnet")
	c := d.Docker(t)
	nw := uniq("v6net")
	sub4, _ := netSubnet(d, 2)
	sub6, gw6 := netSubnet6(d, 2)
	createNet(t, c, nw, "--ipv6", "--subnet", sub4, "--subnet", sub6)
	var inspect []struct {
		EnableIPv6 bool
		Options    map[string]string
		IPAM       struct {
			Config []struct{ Subnet, Gateway string }
		}
		ID string
	}
	if err := json.Unmarshal([]byte(c.Must(t, "network", "inspect", nw)), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("network inspect: %v", err)
	}
	if n := inspect[0]; !n.EnableIPv6 || len(n.IPAM.Config) != 2 || n.IPAM.Config[1].Subnet != sub6 || n.IPAM.Config[1].Gateway != gw6 {
		t.Errorf("network inspect: EnableIPv6 %v, IPAM %+v", n.EnableIPv6, n.IPAM.Config)
	}
	bridge := "br-" + inspect[0].ID[:12]

	web := uniq("web6")
	runHttpd(t, c, web, "hello-v6", "--network", nw, "-p", "80")
	ip6 := c.Must(t, "inspect", "--format", `{{(index .NetworkSettings.Networks "`+nw+`").GlobalIPv6Address}}`, web)
	gw := c.Must(t, "inspect", "--format", `{{(index .NetworkSettings.Networks "`+nw+`").IPv6Gateway}}`, web)
	if a := net.ParseIP(ip6); a == nil || a.To4() != nil || !strings.HasPrefix(ip6, strings.TrimSuffix(gw6, "1")) || gw != gw6 {
		t.Fatalf("GlobalIPv6Address %q / IPv6Gateway %q, want an address of %s via %s", ip6, gw, sub6, gw6)
	}
	if got := c.Must(t, "network", "inspect", "--format", "{{range .Containers}}{{.IPv6Address}}{{end}}", nw); got != ip6+"/64" {
		t.Errorf("network inspect Containers IPv6Address = %q, want %s/64", got, ip6)
	}

	// Container to container by name over IPv6: AAAA, ping6, HTTP, PTR.
	r := c.Run(t, "run", "--rm", "--network", nw, "busybox", "sh", "-c",
		"nslookup -type=AAAA "+web+" 127.0.0.11; echo @@SEP@@; ping -6 -c1 -W3 "+web+" && echo PING-OK; echo @@SEP@@; "+
			"("+shFetch("http://["+ip6+"]/")+"); echo @@SEP@@; nslookup "+ip6+" 127.0.0.11")
	parts := strings.Split(r.Stdout, "@@SEP@@")
	if len(parts) != 4 {
		t.Fatalf("client: %s", r)
	}
	if !strings.Contains(parts[0], "Address: "+ip6) {
		t.Errorf("AAAA for %s: want %s: %s", web, ip6, parts[0])
	}
	if !strings.Contains(parts[1], "PING-OK") {
		t.Errorf("ping6 %s failed: %s", web, r)
	}
	if !strings.Contains(parts[2], "hello-v6") {
		t.Errorf("HTTP over IPv6 to %s failed: %s", ip6, r)
	}
	if !strings.Contains(parts[3], "name = "+web+"."+nw) {
		t.Errorf("IPv6 PTR: %s", parts[3])
	}

	// Published port: 0.0.0.0 and [::], reachable from the host over IPv6.
	ports := c.Must(t, "port", web, "80")
	if !strings.Contains(ports, "0.0.0.0:") || !strings.Contains(ports, "[::]:") {
		t.Fatalf("docker port: %q, want 0.0.0.0 and [::]", ports)
	}
	_, hp, _ := strings.Cut(ports[strings.Index(ports, "[::]:"):], "]:")
	hp = strings.Fields(hp)[0]
	waitHTTP(t, "http://["+gw6+"]:"+hp+"/", "hello-v6")
	if rules := ip6tablesSave(t); !strings.Contains(rules, "--to-destination ["+ip6+"]:80") || !strings.Contains(rules, "-s "+sub6+" ! -o "+bridge+" -j MASQUERADE") {
		t.Errorf("ip6tables lacks the DNAT or MASQUERADE rule of %s:\n%s", web, rules)
	}

	// network connect --ip6 gives a fixed address on a user IPv6 subnet.
	peer := uniq("peer6")
	c.Must(t, "run", "-d", "--name", peer, "busybox", "sleep", "1d")
	t.Cleanup(func() { c.Run(t, "rm", "-f", peer) })
	fixed := strings.TrimSuffix(gw6, "1") + "99"
	c.Must(t, "network", "connect", "--ip6", fixed, nw, peer)
	if got := c.Must(t, "inspect", "--format", `{{(index .NetworkSettings.Networks "`+nw+`").GlobalIPv6Address}}`, peer); got != fixed {
		t.Errorf("network connect --ip6 %s: got %q", fixed, got)
	}
	if r := c.Run(t, "exec", peer, "ping", "-6", "-c1", "-W3", ip6); r.Exit != 0 {
		t.Errorf("ping6 from a container connected later: %s", r)
	}
	c.Must(t, "rm", "-f", peer)

	// Removing the container and the network leaves no IPv6 rule of theirs.
	c.Must(t, "rm", "-f", web)
	if rules := ip6tablesSave(t); strings.Contains(rules, ip6) {
		t.Errorf("ip6tables still holds rules for %s after rm:\n%s", ip6, rules)
	}
	c.Must(t, "network", "rm", nw)
	if rules := ip6tablesSave(t); strings.Contains(rules, bridge) || strings.Contains(rules, sub6) {
		t.Errorf("ip6tables still holds rules for %s after network rm:\n%s", bridge, rules)
	}
}

func TestIPv6NetworkDefaultsAndErrors(t *testing.T) {
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		t.Skip("IPv6 is disabled in this kernel")
	}
	d := sharedDaemon(t, "compatnet")
	c := d.Docker(t)
	// --ipv6 without an IPv6 subnet: a unique local /64, as Docker 27.
	nw := uniq("ula")
	sub4, _ := netSubnet(d, 3)
	createNet(t, c, nw, "--ipv6", "--subnet", sub4)
	got := c.Must(t, "network", "inspect", "--format", "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}} {{end}}", nw)
	f := strings.Fields(got)
	if len(f) != 3 || f[0] != "true" || !regexp.MustCompile(`^fd[0-9a-f]{2}:[0-9a-f:]+/64$`).MatchString(f[2]) {
		t.Errorf("--ipv6 without subnet: %q, want a fdxx::/64", got)
	}
	// An IPv6 subnet without --ipv6, and IPv6 publishing on an IPv4-only
	// network, are refused rather than ignored.
	sub6, _ := netSubnet6(d, 3)
	if r := c.Run(t, "network", "create", "--subnet", sub6, uniq("nov6")); r.Exit == 0 || !strings.Contains(r.Stderr, "IPv6 is not enabled") {
		t.Errorf("IPv6 subnet without --ipv6: %s", r)
	}
	if r := c.Run(t, "run", "--rm", "-p", "[::1]::80", "busybox", "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "does not have IPv6 enabled") {
		t.Errorf("IPv6 host address on the IPv4-only default bridge: %s", r)
	}
	if r := c.Run(t, "run", "--rm", "--network", nw, "-p", "[::1]::80", "busybox", "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "cannot publish port 80/tcp on ::1") {
		t.Errorf("publishing on ::1: %s", r)
	}
	if r := c.Run(t, "run", "--rm", "--ip6", "fd42::9", "--network", nw, "busybox", "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "user configured subnets") {
		t.Errorf("--ip6 on a network without a user IPv6 subnet: %s", r)
	}
}

func ip6tablesSave(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip6tables-save").Output()
	if err != nil {
		t.Fatalf("ip6tables-save: %v", err)
	}
	return string(out)
}

// TestIPv6DefaultBridge: daemon.json "ipv6" and "fixed-cidr-v6" give the
// default bridge IPv6, with the legacy top-level inspect fields, /etc/hosts,
// container to container and a published port from the host over IPv6.
func TestIPv6DefaultBridge(t *testing.T) {
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		t.Skip("IPv6 is disabled in this kernel")
	}
	d := newStoppedDaemon(t)
	sub6, gw6 := netSubnet6(d, 5)
	d.addConfig(t, map[string]any{"ipv6": true, "fixed-cidr-v6": sub6})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	c := d.Docker(t)
	got := c.Must(t, "network", "inspect", "--format", "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}}/{{.Gateway}} {{end}}", "bridge")
	if !strings.HasPrefix(got, "true ") || !strings.Contains(got, sub6+"/"+gw6) {
		t.Errorf("default bridge inspect: %q, want IPv6 %s via %s", got, sub6, gw6)
	}
	web := uniq("web")
	runHttpd(t, c, web, "hello-bridge-v6", "-p", "80")
	ip6 := c.Must(t, "inspect", "--format", "{{.NetworkSettings.GlobalIPv6Address}}/{{.NetworkSettings.GlobalIPv6PrefixLen}}/{{.NetworkSettings.IPv6Gateway}}", web)
	a, _, _ := strings.Cut(ip6, "/")
	if net.ParseIP(a) == nil || !strings.HasSuffix(ip6, "/64/"+gw6) {
		t.Fatalf("legacy inspect IPv6 fields: %q", ip6)
	}
	hosts := c.Must(t, "exec", web, "cat", "/etc/hosts")
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(a) + `\s`).MatchString(hosts) {
		t.Errorf("/etc/hosts lacks the container's IPv6 address %s: %s", a, hosts)
	}
	if r := c.Run(t, "run", "--rm", "busybox", "sh", "-c", "ping -6 -c1 -W3 "+a+" && ("+shFetch("http://["+a+"]/")+")"); !strings.Contains(r.Stdout, "hello-bridge-v6") {
		t.Errorf("container to container over IPv6 on the default bridge: %s", r)
	}
	ports := c.Must(t, "port", web, "80")
	i := strings.Index(ports, "[::]:")
	if i < 0 {
		t.Fatalf("docker port: %q, want [::]", ports)
	}
	hp := strings.Fields(ports[i+len("[::]:"):])[0]
	url := "http://[" + gw6 + "]:" + hp + "/"
	waitHTTP(t, url, "hello-bridge-v6")

	// berthd killed and restarted: the port keeps answering over IPv6, the
	// rules are the same, and the IPv6 pool knows the address is taken.
	before := ip6tablesOf(t, d)
	d.Kill()
	if got, err := httpGet(url); err != nil || got != "hello-bridge-v6" {
		t.Errorf("while berthd is down: %q %v", got, err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, url, "hello-bridge-v6")
	if after := ip6tablesOf(t, d); before != after {
		t.Errorf("IPv6 rules differ after the restart:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	other := uniq("other")
	c.Must(t, "run", "-d", "--name", other, "busybox", "sleep", "1d")
	t.Cleanup(func() { c.Run(t, "rm", "-f", other) })
	if o := c.Must(t, "inspect", "--format", "{{.NetworkSettings.GlobalIPv6Address}}", other); o == a || net.ParseIP(o) == nil {
		t.Errorf("second container's IPv6 address %q (first %s)", o, a)
	}
	if r := c.Run(t, "run", "--rm", "--ip6", strings.TrimSuffix(gw6, "1")+"99", "busybox", "true"); r.Exit == 0 {
		t.Errorf("--ip6 on the default bridge was accepted: %s", r)
	}
}

// ip6tablesOf is d's IPv6 rules (its own chains), sorted.
func ip6tablesOf(t *testing.T, d *Daemon) string {
	var out []string
	for _, l := range strings.Split(ip6tablesSave(t), "\n") {
		if strings.Contains(l, "BT"+d.Net) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
