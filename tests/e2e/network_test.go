package e2e

// Issue 4 (networking), checked end to end: container to container on a
// user network, host to container, published ports on 127.0.0.1, -P and
// -p PORT, hairpin, isolation between networks, --internal, inspect's
// shape, /etc/hosts and /etc/resolv.conf, the docker CLI's network
// commands, no leaks over many run/rm cycles, and published ports across a
// SIGKILL of berthd. Traffic goes only to 127.0.0.1 and to containers on
// bridges the test's own daemon made.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// createNet creates a bridge network with c and removes it when t ends.
func createNet(t *testing.T, c CLI, name string, args ...string) {
	t.Helper()
	c.Must(t, append(append([]string{"network", "create"}, args...), name)...)
	t.Cleanup(func() { c.Run(t, "network", "rm", name) })
}

// httpdCmd serves /www/index.html containing body on port 80.
func httpdCmd(body string) []string {
	return []string{"busybox", "sh", "-c", "mkdir -p /www && echo " + body + " > /www/index.html && exec httpd -f -p 80 -h /www"}
}

// runHttpd starts a detached web server container; it is removed when t ends.
func runHttpd(t *testing.T, c CLI, name, body string, args ...string) string {
	t.Helper()
	all := append([]string{"run", "-d", "--name", name}, args...)
	id := c.Must(t, append(all, httpdCmd(body)...)...)
	t.Cleanup(func() { c.Run(t, "rm", "-f", name) })
	return id
}

// waitListening waits until a TCP socket listens on port in container
// name (run -d returns once the process started, not once it serves).
func waitListening(t *testing.T, c CLI, name string, port int) {
	t.Helper()
	suffix := fmt.Sprintf(":%04X", port)
	for deadline := time.Now().Add(30 * time.Second); ; {
		r := c.Run(t, "exec", name, "cat", "/proc/net/tcp", "/proc/net/tcp6")
		for _, l := range strings.Split(r.Stdout, "\n") {
			if f := strings.Fields(l); len(f) > 3 && strings.HasSuffix(f[1], suffix) && f[3] == "0A" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on port %d in %s: %s", port, name, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shFetch is a shell snippet fetching url inside a container, given up
// after 3 s. Not `wget -T`: Debian's busybox-static 1.35 wget segfaults
// with it; not `timeout 3 wget`: busybox's timeout did not stop a wget
// stuck in connect (it waited for TCP's 2-minute timeout).
func shFetch(url string) string {
	return "wget -qO- " + url + " & p=$!; (sleep 3; kill $p) >/dev/null 2>&1 & k=$!; wait $p; r=$?; kill $k; exit $r"
}

func httpGet(url string) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return strings.TrimSpace(string(b)), err
}

// waitHTTP fetches url from the host until it answers want (the server in
// the container needs a moment to listen).
func waitHTTP(t *testing.T, url, want string) {
	t.Helper()
	eventually(t, 5*time.Second, func() error {
		got, err := httpGet(url)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("GET %s: %q, want %q", url, got, want)
		}
		return nil
	})
}

// freeHostPort is a TCP port free on every host address right now.
func freeHostPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// netIP is name's address on network net, from inspect.
func netIP(t *testing.T, c CLI, name, network string) string {
	t.Helper()
	ip := c.Must(t, "inspect", "--format", `{{(index .NetworkSettings.Networks "`+network+`").IPAddress}}`, name)
	if net.ParseIP(ip) == nil {
		t.Fatalf("%s inspect %s: IPAddress on %s is %q", c.Name, name, network, ip)
	}
	return ip
}

func TestNetworkContainerToContainer(t *testing.T) {
	d := sharedDaemon(t, "net")
	i := 0
	eachCLI(t, d, func(t *testing.T, c CLI) {
		i++
		nw := uniq("c2c-" + c.Name)
		sub, _ := netSubnet(d, i)
		createNet(t, c, nw, "--subnet", sub)
		web := uniq("web-" + c.Name)
		runHttpd(t, c, web, "hello-"+web, "--network", nw, "--network-alias", "www-"+c.Name)
		ip := netIP(t, c, web, nw)

		// Host to container IP, with Go's HTTP client.
		waitHTTP(t, "http://"+ip+"/index.html", "hello-"+web)

		script := fmt.Sprintf("ping -c1 -W2 %[1]s && ping -c1 -W2 %[2]s && wget -qO- http://%[1]s/index.html && wget -qO- http://%[2]s/index.html",
			ip, web)
		r := c.Run(t, "run", "--rm", "--network", nw, "busybox", "sh", "-c", script)
		if r.Exit != 0 || strings.Count(r.Stdout, "hello-"+web) != 2 {
			t.Errorf("container to container on %s by IP and name: %s", nw, r)
		}
		// --network-alias given at run is a name on the network too.
		r = c.Run(t, "run", "--rm", "--network", nw, "busybox", "wget", "-qO-", "http://www-"+c.Name+"/index.html")
		if r.Exit != 0 || r.Out() != "hello-"+web {
			t.Errorf("container to container by --network-alias www-%s: %s", c.Name, r)
		}
	})
	// Host to a container on the default bridge too.
	b := d.Berth()
	web := uniq("webdef")
	runHttpd(t, b, web, "hello-default")
	ip := b.Must(t, "inspect", "--format", "{{.NetworkSettings.IPAddress}}", web)
	waitHTTP(t, "http://"+ip+"/index.html", "hello-default")
}

// hostPort returns the host port `port CONTAINER 80` names, checking that
// it is bound on wantIP.
func hostPort(t *testing.T, c CLI, name, wantIP string) int {
	t.Helper()
	out := c.Must(t, "port", name, "80")
	line, _, _ := strings.Cut(out, "\n")
	host, p, err := net.SplitHostPort(strings.TrimSpace(line))
	n, err2 := strconv.Atoi(p)
	if err != nil || err2 != nil || host != wantIP || n == 0 {
		t.Fatalf("%s port %s 80: %q, want %s:PORT", c.Name, name, out, wantIP)
	}
	// The whole listing agrees.
	if all := c.Must(t, "port", name); !strings.Contains(all, fmt.Sprintf("80/tcp -> %s:%d", wantIP, n)) {
		t.Errorf("%s port %s: %q, want a line 80/tcp -> %s:%d", c.Name, name, all, wantIP, n)
	}
	// inspect's NetworkSettings.Ports agrees.
	js := c.Must(t, "inspect", "--format", "{{json .NetworkSettings.Ports}}", name)
	var ports map[string][]struct{ HostIp, HostPort string }
	if err := json.Unmarshal([]byte(js), &ports); err != nil {
		t.Fatalf("inspect Ports %q: %v", js, err)
	}
	found := false
	for _, b := range ports["80/tcp"] {
		if b.HostIp == wantIP && b.HostPort == strconv.Itoa(n) {
			found = true
		}
	}
	if !found {
		t.Errorf("%s inspect %s: NetworkSettings.Ports %s lacks %s:%d for 80/tcp", c.Name, name, js, wantIP, n)
	}
	return n
}

func TestPortPublish(t *testing.T) {
	d := sharedDaemon(t, "net")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		loop := uniq("loop-" + c.Name)
		runHttpd(t, c, loop, "loop", "-p", "127.0.0.1::80")
		fixed := uniq("fixed-" + c.Name)
		hp := freeHostPort(t)
		runHttpd(t, c, fixed, "fixed", "-p", fmt.Sprintf("%d:80", hp))
		all := uniq("all-" + c.Name)
		runHttpd(t, c, all, "all", "--expose", "80", "-P")
		any := uniq("any-" + c.Name)
		runHttpd(t, c, any, "any", "-p", "80")

		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort(t, c, loop, "127.0.0.1")), "loop")
		if got := hostPort(t, c, fixed, "0.0.0.0"); got != hp {
			t.Errorf("-p %d:80 got host port %d", hp, got)
		}
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hp), "fixed")
		pa := hostPort(t, c, all, "0.0.0.0")
		pb := hostPort(t, c, any, "0.0.0.0")
		if pa == pb || pa == hp || pb == hp {
			t.Errorf("free host ports collide: -P %d, -p 80 %d, fixed %d", pa, pb, hp)
		}
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", pa), "all")
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", pb), "any")
		// The host port is taken while published.
		if l, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", hp)); err == nil {
			l.Close()
			t.Errorf("host port %d is free while published", hp)
		}
		if r := c.Run(t, "run", "--rm", "-p", fmt.Sprintf("%d:80", hp), "busybox", "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "port is already allocated") {
			t.Errorf("publishing a taken port: %s, want an error saying port is already allocated", r)
		}
	})
}

// A container reaches its own published port, and a neighbour's, through
// the gateway address (hairpin NAT).
func TestPortHairpin(t *testing.T) {
	d := sharedDaemon(t, "net")
	b := d.Berth()
	web := uniq("hair")
	hp := freeHostPort(t)
	runHttpd(t, b, web, "hairpin", "-p", fmt.Sprintf("%d:80", hp))
	gw := b.Must(t, "inspect", "--format", "{{.NetworkSettings.Gateway}}", web)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hp), "hairpin")
	url := fmt.Sprintf("http://%s:%d/index.html", gw, hp)
	if r := b.Run(t, "exec", web, "sh", "-c", shFetch(url)); r.Exit != 0 || r.Out() != "hairpin" {
		t.Errorf("hairpin to itself via %s: %s", url, r)
	}
	if r := b.Run(t, "run", "--rm", "busybox", "sh", "-c", shFetch(url)); r.Exit != 0 || r.Out() != "hairpin" {
		t.Errorf("hairpin from a neighbour via %s: %s", url, r)
	}
}

func TestNetworkIsolationAndInternal(t *testing.T) {
	d := sharedDaemon(t, "net")
	b := d.Berth()
	na, nb, ni := uniq("isoa"), uniq("isob"), uniq("isoi")
	sa, gwa := netSubnet(d, 3)
	sb, _ := netSubnet(d, 4)
	si, _ := netSubnet(d, 5)
	createNet(t, b, na, "--subnet", sa)
	createNet(t, b, nb, "--subnet", sb)
	createNet(t, b, ni, "--internal", "--subnet", si)
	web := uniq("isoweb")
	runHttpd(t, b, web, "iso", "--network", na)
	ip := netIP(t, b, web, na)
	waitHTTP(t, "http://"+ip+"/index.html", "iso")

	// Control: the same probe from the server's own network succeeds.
	if r := b.Run(t, "run", "--rm", "--network", na, "busybox", "ping", "-c1", "-W2", ip); r.Exit != 0 {
		t.Fatalf("ping on the same network failed, so the isolation check proves nothing: %s", r)
	}
	if r := b.Run(t, "run", "--rm", "--network", nb, "busybox", "sh", "-c", "ping -c1 -W2 "+ip+" || nc -w 2 "+ip+" 80 </dev/null"); r.Exit == 0 {
		t.Errorf("a container on %s reached %s on %s: %s", nb, ip, na, r)
	}
	// --internal: no default route, the other network's gateway unreachable,
	// but neighbours on the internal network talk.
	in := uniq("inweb")
	runHttpd(t, b, in, "internal", "--network", ni)
	inIP := netIP(t, b, in, ni)
	waitListening(t, b, in, 80)
	r := b.Run(t, "run", "--rm", "--network", ni, "busybox", "sh", "-c", "ip route; echo ---; ping -c1 -W2 "+gwa+" && echo REACHED; "+shFetch("http://"+inIP+"/index.html"))
	routes, rest, _ := strings.Cut(r.Stdout, "---")
	if strings.Contains(routes, "default") || routes == "" {
		t.Errorf("--internal: ip route shows a default route (or nothing): %s", r)
	}
	if strings.Contains(rest, "REACHED") {
		t.Errorf("--internal: ping to %s (gateway of %s) succeeded: %s", gwa, na, r)
	}
	if !strings.Contains(rest, "internal") {
		t.Errorf("--internal: neighbour %s not reachable on the internal network: %s", inIP, r)
	}
}

// macOf is Docker's MAC for an IPv4 address: 02:42 then the address bytes.
func macOf(ip string) string {
	a := net.ParseIP(ip).To4()
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3])
}

func TestNetworkInspectShape(t *testing.T) {
	d := sharedDaemon(t, "net")
	b := d.Berth()
	nw := uniq("shape")
	sub, gw := netSubnet(d, 6)
	createNet(t, b, nw, "--subnet", sub)
	def := uniq("shapedef")
	b.Must(t, "run", "-d", "--name", def, "busybox", "sleep", "1d")
	t.Cleanup(func() { b.Run(t, "rm", "-f", def) })
	user := uniq("shapeuser")
	b.Must(t, "run", "-d", "--name", user, "--network", nw, "busybox", "sleep", "1d")
	t.Cleanup(func() { b.Run(t, "rm", "-f", user) })

	type ep struct {
		NetworkID, EndpointID, Gateway, IPAddress, MacAddress string
		IPPrefixLen                                           int
		Aliases, DNSNames                                     []string
	}
	type settings struct {
		ep
		Networks map[string]ep
		Ports    map[string]any
	}
	get := func(name string) settings {
		status, _, body := d.API(t, "GET", "/v1.47/containers/"+name+"/json", "", "")
		if status != 200 {
			t.Fatalf("inspect %s: HTTP %d %s", name, status, body)
		}
		var c struct{ NetworkSettings settings }
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatal(err)
		}
		return c.NetworkSettings
	}
	s := get(def)
	br := s.Networks["bridge"]
	if s.IPAddress == "" || s.Gateway == "" || s.IPPrefixLen != 24 || s.MacAddress != macOf(s.IPAddress) {
		t.Errorf("default bridge: top-level NetworkSettings %+v, want IPAddress, Gateway, IPPrefixLen 24, MacAddress %s", s.ep, macOf(s.IPAddress))
	}
	if br.IPAddress != s.IPAddress || br.Gateway != s.Gateway || br.MacAddress != s.MacAddress || br.IPPrefixLen != 24 || br.NetworkID == "" || br.EndpointID == "" {
		t.Errorf("default bridge: Networks[bridge] %+v does not match the top level %+v", br, s.ep)
	}
	u := get(user).Networks[nw]
	if !strings.HasPrefix(u.IPAddress, strings.TrimSuffix(gw, "1")) || u.Gateway != gw || u.IPPrefixLen != 24 || u.MacAddress != macOf(u.IPAddress) || u.NetworkID == "" {
		t.Errorf("user network: Networks[%s] %+v, want an address in %s, gateway %s, /24, MAC from the IP", nw, u, sub, gw)
	}
	eachCLI(t, d, func(t *testing.T, c CLI) {
		out := c.Must(t, "inspect", "--format", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}} {{.NetworkSettings.IPPrefixLen}}", def)
		if want := fmt.Sprintf("%s %s %s 24", s.IPAddress, s.Gateway, s.MacAddress); out != want {
			t.Errorf("%s inspect: %q, want %q", c.Name, out, want)
		}
		out = c.Must(t, "inspect", "--format", `{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}} {{$v.Gateway}} {{$v.MacAddress}}{{end}}`, user)
		if want := fmt.Sprintf("%s %s %s %s", nw, u.IPAddress, gw, u.MacAddress); out != want {
			t.Errorf("%s inspect per network: %q, want %q", c.Name, out, want)
		}
		// The MAC is the interface's.
		if r := c.Run(t, "exec", user, "cat", "/sys/class/net/eth0/address"); r.Out() != u.MacAddress {
			t.Errorf("%s exec: eth0 MAC %s, inspect says %s", c.Name, r, u.MacAddress)
		}
	})
}

func TestDNSFiles(t *testing.T) {
	d := sharedDaemon(t, "net")
	nw := uniq("dnsnet")
	sub, _ := netSubnet(d, 7)
	createNet(t, d.Berth(), nw, "--subnet", sub)
	script := "cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; hostname; cat /etc/hostname"
	opts := []string{"--dns", "192.0.2.53", "--dns-search", "example.test", "--dns-option", "ndots:3",
		"--add-host", "foo.test:192.0.2.7", "--hostname", "myhost"}
	eachCLI(t, d, func(t *testing.T, c CLI) {
		parts := func(r Result) []string {
			p := strings.Split(r.Stdout, "---\n")
			if r.Exit != 0 || len(p) != 3 {
				t.Fatalf("%s", r)
			}
			return p
		}
		p := parts(c.Run(t, append(append([]string{"run", "--rm"}, opts...), "busybox", "sh", "-c", script)...))
		resolv, hosts, hn := p[0], p[1], p[2]
		for _, want := range []string{"nameserver 192.0.2.53\n", "search example.test\n", "options ndots:3\n"} {
			if !strings.Contains(resolv, want) {
				t.Errorf("%s run --dns...: /etc/resolv.conf lacks %q:\n%s", c.Name, want, resolv)
			}
		}
		if regexp.MustCompile(`(?m)^nameserver 127\.`).MatchString(resolv) {
			t.Errorf("%s: loopback resolver on the default bridge:\n%s", c.Name, resolv)
		}
		for _, re := range []string{`(?m)^127\.0\.0\.1\s+localhost`, `(?m)^192\.0\.2\.7\s+foo\.test$`, `(?m)^10\.\d+\.\d+\.\d+\s+myhost`} {
			if !regexp.MustCompile(re).MatchString(hosts) {
				t.Errorf("%s: /etc/hosts does not match %s:\n%s", c.Name, re, hosts)
			}
		}
		if hn != "myhost\nmyhost\n" {
			t.Errorf("%s: hostname and /etc/hostname: %q, want myhost twice", c.Name, hn)
		}

		// On a user network: the embedded server, the --dns servers kept
		// for forwarding only.
		peer := uniq("peer-" + c.Name)
		c.Must(t, "run", "-d", "--name", peer, "--network", nw, "busybox", "sleep", "1d")
		t.Cleanup(func() { c.Run(t, "rm", "-f", peer) })
		peerIP := netIP(t, c, peer, nw)
		r := c.Run(t, append(append([]string{"run", "--rm", "--network", nw}, opts...), "busybox", "sh", "-c", "cat /etc/resolv.conf; echo ---; nslookup "+peer+" 127.0.0.11")...)
		resolv, look, _ := strings.Cut(r.Stdout, "---")
		if !regexp.MustCompile(`(?m)^nameserver 127\.0\.0\.11$`).MatchString(resolv) || strings.Contains(resolv, "nameserver 192.0.2.53") ||
			!strings.Contains(resolv, "search example.test") || !strings.Contains(resolv, "ndots:3") {
			t.Errorf("%s user network: /etc/resolv.conf should name only 127.0.0.11 with the search and options: %s", c.Name, r)
		}
		if !strings.Contains(look, peerIP) {
			t.Errorf("%s: embedded DNS did not resolve %s to %s: %s", c.Name, peer, peerIP, r)
		}
	})
}

func TestNetworkCommands(t *testing.T) {
	d := sharedDaemon(t, "net")
	i := 10
	eachCLI(t, d, func(t *testing.T, c CLI) {
		i++
		nw := uniq("cmd-" + c.Name)
		sub, gw := netSubnet(d, i)
		base := strings.TrimSuffix(gw, ".1")
		c.Must(t, "network", "create", "--driver", "bridge", "--subnet", sub, "--gateway", gw,
			"--ip-range", base+".128/25", "--label", "team=berth", "-o", "com.docker.network.driver.mtu=1400", nw)
		t.Cleanup(func() { c.Run(t, "network", "rm", nw) })
		ls := c.Must(t, "network", "ls", "--format", "{{.Name}} {{.Driver}}")
		for _, want := range []string{"bridge bridge", "host host", "none null", nw + " bridge"} {
			if !strings.Contains("\n"+ls+"\n", "\n"+want+"\n") {
				t.Errorf("%s network ls lacks %q:\n%s", c.Name, want, ls)
			}
		}
		if out := c.Must(t, "network", "ls", "--filter", "label=team=berth", "-q"); out == "" || strings.Contains(out, "\n") {
			t.Errorf("%s network ls --filter label=team=berth -q: %q, want one ID", c.Name, out)
		}
		out := c.Must(t, "network", "inspect", "--format", `{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}} {{index .Labels "team"}} {{.Driver}} {{.Internal}}`, nw)
		if want := fmt.Sprintf("%s %s %s.128/25 berth bridge false", sub, gw, base); out != want {
			t.Errorf("%s network inspect: %q, want %q", c.Name, out, want)
		}
		ctr := uniq("conn-" + c.Name)
		c.Must(t, "run", "-d", "--name", ctr, "busybox", "sleep", "1d")
		t.Cleanup(func() { c.Run(t, "rm", "-f", ctr) })
		fixedIP := base + ".200"
		c.Must(t, "network", "connect", "--alias", "al-"+c.Name, "--ip", fixedIP, nw, ctr)
		if got := netIP(t, c, ctr, nw); got != fixedIP {
			t.Errorf("%s network connect --ip %s: inspect says %s", c.Name, fixedIP, got)
		}
		if out := c.Must(t, "exec", ctr, "ip", "-o", "-4", "addr"); !strings.Contains(out, fixedIP+"/24") {
			t.Errorf("%s: after connect the container lacks %s/24:\n%s", c.Name, fixedIP, out)
		}
		if out := c.Must(t, "inspect", "--format", `{{(index .NetworkSettings.Networks "`+nw+`").Aliases}}`, ctr); !strings.Contains(out, "al-"+c.Name) {
			t.Errorf("%s: aliases after connect --alias: %s", c.Name, out)
		}
		// Name and alias resolve for a neighbour on the network.
		if r := c.Run(t, "run", "--rm", "--network", nw, "busybox", "sh", "-c", "ping -c1 -W2 "+ctr+" && ping -c1 -W2 al-"+c.Name); r.Exit != 0 || !strings.Contains(r.Stdout, fixedIP) {
			t.Errorf("%s: name/alias after connect: %s", c.Name, r)
		}
		if out := c.Must(t, "network", "inspect", "--format", "{{len .Containers}}", nw); out != "1" {
			t.Errorf("%s network inspect: %s containers, want 1", c.Name, out)
		}
		if r := c.Run(t, "network", "rm", nw); r.Exit == 0 || !strings.Contains(r.Stderr, "active endpoints") {
			t.Errorf("%s network rm of a network in use: %s, want an active endpoints error", c.Name, r)
		}
		c.Must(t, "network", "disconnect", nw, ctr)
		if out := c.Must(t, "exec", ctr, "ip", "-o", "-4", "addr"); strings.Contains(out, fixedIP) {
			t.Errorf("%s: after disconnect the container still has %s:\n%s", c.Name, fixedIP, out)
		}
		c.Must(t, "network", "rm", nw)
		if r := c.Run(t, "network", "inspect", nw); r.Exit == 0 {
			t.Errorf("%s: network inspect after rm: %s", c.Name, r)
		}
		// prune removes unused user networks only.
		p1, p2 := uniq("prune-"+c.Name), uniq("prune-"+c.Name)
		s1, _ := netSubnet(d, i+20)
		s2, _ := netSubnet(d, i+40)
		c.Must(t, "network", "create", "--subnet", s1, p1)
		c.Must(t, "network", "create", "--subnet", s2, p2)
		out = c.Must(t, "network", "prune", "-f")
		if !strings.Contains(out, p1) || !strings.Contains(out, p2) {
			t.Errorf("%s network prune -f: %q, want %s and %s", c.Name, out, p1, p2)
		}
		ls = c.Must(t, "network", "ls", "--format", "{{.Name}}")
		if strings.Contains(ls, "prune-") || !strings.Contains(ls, "bridge") {
			t.Errorf("%s network ls after prune:\n%s", c.Name, ls)
		}
	})
}

// ourRules is iptables-save restricted to d's chains and the jumps into them.
func ourRules(t *testing.T, d *Daemon) []string {
	t.Helper()
	var lines []string
	for _, table := range []string{"filter", "nat"} {
		out, err := exec.Command("iptables-save", "-t", table).Output()
		if err != nil {
			t.Fatalf("iptables-save: %v", err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "BT"+d.Net) {
				lines = append(lines, table+": "+l)
			}
		}
	}
	sort.Strings(lines)
	return lines
}

func bridgePorts(bridge string) []string {
	ents, _ := os.ReadDir("/sys/class/net/" + bridge + "/brif")
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// 200 run/rm cycles with published ports, on the default bridge and on a
// tiny user network (5 addresses: a leaked address exhausts it), leave no
// rule, veth or address behind.
func TestNetworkRunRmCyclesLeaveNothing(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	nw := "small"
	sub, _ := netSubnet(d, 0)
	small := strings.TrimSuffix(sub, "0/24") + "0/29"
	smallBr := "bs" + d.Net
	createNet(t, b, nw, "--subnet", small, "-o", "com.docker.network.bridge.name="+smallBr)
	before := ourRules(t, d)
	if len(before) == 0 {
		t.Fatal("no rules of the daemon's chains found: the comparison would prove nothing")
	}

	const cycles, workers = 200, 4
	var wg sync.WaitGroup
	errs := make(chan string, cycles)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < cycles; i += workers {
				args := []string{"run", "--rm", "-p", "127.0.0.1::80"}
				if i%2 == 1 {
					args = append(args, "--network", nw)
				}
				if r := b.Run(t, append(args, "busybox", "true")...); r.Exit != 0 {
					errs <- fmt.Sprintf("cycle %d: %s", i, r)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 3 {
			t.Error(e)
		}
	}
	if n > 0 {
		t.Fatalf("%d of %d cycles failed", n, cycles)
	}
	after := ourRules(t, d)
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("rules changed over %d cycles:\nbefore:\n%s\nafter:\n%s", cycles, strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
	eventually(t, 5*time.Second, func() error {
		if l := append(bridgePorts("bt"+d.Net), bridgePorts(smallBr)...); len(l) > 0 {
			return fmt.Errorf("veths left on the bridges: %v", l)
		}
		return nil
	})
	for _, n := range []string{"bridge", nw} {
		if out := b.Must(t, "network", "inspect", "--format", "{{len .Containers}}", n); out != "0" {
			t.Errorf("network %s still lists %s endpoints", n, out)
		}
	}
	// Every address of the /29 is free again: five containers fit at once.
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("fill-%d", i)
		if r := b.Run(t, "run", "-d", "--name", name, "--network", nw, "busybox", "sleep", "1d"); r.Exit != 0 {
			t.Errorf("container %d on the /29 after the cycles: %s (addresses leaked?)", i+1, r)
		}
	}
	b.Run(t, "rm", "-f", "fill-0", "fill-1", "fill-2", "fill-3", "fill-4")
}

// A SIGKILL of berthd leaves a published port working, and the restarted
// daemon neither duplicates nor drops its rules.
func TestPortSurvivesDaemonKill(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	hp := freeHostPort(t)
	runHttpd(t, b, "kweb", "survivor", "-p", fmt.Sprintf("127.0.0.1:%d:80", hp))
	url := fmt.Sprintf("http://127.0.0.1:%d/index.html", hp)
	waitHTTP(t, url, "survivor")
	before := ourRules(t, d)
	d.Kill()
	if got, err := httpGet(url); err != nil || got != "survivor" {
		t.Errorf("while berthd is down: %q %v", got, err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, url, "survivor")
	if after := ourRules(t, d); strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("rules differ after the restart:\nbefore:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
	if got := hostPort(t, b, "kweb", "127.0.0.1"); got != hp {
		t.Errorf("after the restart port says %d, want %d", got, hp)
	}
	// A new container still gets networking, and rm cleans up the old one.
	b.Must(t, "rm", "-f", "kweb")
	for _, l := range ourRules(t, d) {
		if strings.Contains(l, fmt.Sprintf("--dport %d ", hp)) {
			t.Errorf("rule for port %d left after rm: %s", hp, l)
		}
	}
	if _, err := httpGet(url); err == nil {
		t.Errorf("port %d still answers after rm", hp)
	}
	runHttpd(t, b, "kweb2", "again", "-p", fmt.Sprintf("127.0.0.1:%d:80", hp))
	waitHTTP(t, url, "again")
}
