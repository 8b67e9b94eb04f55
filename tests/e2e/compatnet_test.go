package e2e

// Issue 12 items 7-9, through the docker CLI: legacy links on the default
// bridge (hosts entries, environment, inspect), link aliases and
// name.network / PTR / hostname answers of the embedded DNS on user
// networks, and dual-stack (IPv6) networks.

import (
	"encoding/json"
	"regexp"
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
}
