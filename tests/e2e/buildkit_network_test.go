package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// hostNameservers are the host's non-loopback resolvers, which a build
// step on the bridge uses (as Docker's builds do).
func hostNameservers(t *testing.T) []string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Skip("no /etc/resolv.conf")
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "nameserver" && !strings.HasPrefix(f[1], "127.") && f[1] != "::1" {
			out = append(out, f[1])
		}
	}
	return out
}

// bridgeVeths lists the interfaces enslaved to bridge.
func bridgeVeths(t *testing.T, bridge string) []string {
	out, err := exec.Command("ip", "-o", "link", "show", "master", bridge).Output()
	if err != nil {
		t.Fatalf("ip link show master %s: %v", bridge, err)
	}
	var vs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			vs = append(vs, strings.TrimSuffix(f[1], ":"))
		}
	}
	return vs
}

// RUN steps get a network namespace of their own on Berth's bridge: they
// reach a container on that bridge, use the host's resolvers, and leave no
// veth behind; --network=none is loopback only; --network=host needs
// --allow network.host and the daemon's entitlement setting.
func TestBuildKitNetwork(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	bridge := "bt" + d.Net
	b.Must(t, "run", "-d", "--name", "bknet-web", "busybox", "sh", "-c", "mkdir -p /www && echo reached-the-bridge > /www/index.html && exec httpd -f -p 80 -h /www")
	ip := b.Must(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "bknet-web")
	before := bridgeVeths(t, bridge)

	dir := t.TempDir()
	// The build argument keeps the step out of the cache.
	writeFiles(t, dir, map[string]string{"Dockerfile": `FROM busybox
ARG N
RUN echo "$N"; for i in 1 2 3 4 5 6 7 8 9 10; do (` + shFetch("http://"+ip+"/") + `) > /web.txt && break; sleep 0.5; done; cat /web.txt
RUN grep nameserver /etc/resolv.conf > /resolv.txt; ls /sys/class/net > /ifaces.txt
`})
	r := berthBuild(t, d, nil, "--progress=plain", "--build-arg", "N=1", "-t", "bknet:1", dir)
	if r.Exit != 0 || !strings.Contains(r.Stderr, "reached-the-bridge") {
		t.Fatalf("a RUN step did not reach a container on the bridge: %s\n%s", r, d.LogTail(30))
	}
	if ifaces := b.Must(t, "run", "--rm", "bknet:1", "cat", "/ifaces.txt"); !strings.Contains(ifaces, "eth0") {
		t.Fatalf("the step's namespace has no eth0: %q", ifaces)
	}
	resolv := b.Must(t, "run", "--rm", "bknet:1", "cat", "/resolv.txt")
	for _, ns := range hostNameservers(t) {
		if !strings.Contains(resolv, ns) {
			t.Errorf("the step's resolv.conf %q lacks the host's nameserver %s", resolv, ns)
		}
	}
	// A run's veths go with its namespace, which the kernel destroys
	// shortly after the run.
	eventually(t, 10*time.Second, func() error {
		if after := bridgeVeths(t, bridge); len(after) != len(before) {
			return fmt.Errorf("veths on %s: %v before the build, %v after", bridge, before, after)
		}
		return nil
	})
	if out, _ := exec.Command("sh", "-c", "ls "+d.ExecRoot+"/netns 2>/dev/null | wc -l").Output(); strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("network namespaces left under %s/netns: %s", d.ExecRoot, out)
	}

	// The same through docker build with buildx.
	if dockerCLI != "" {
		buildxPlugin(t, d)
		r = dockerBuild(t, d, "--build-arg", "N=2", "-t", "bknet:2", dir)
		if r.Exit != 0 || !strings.Contains(r.Stderr, "reached-the-bridge") {
			t.Fatalf("docker build: a RUN step did not reach a container on the bridge: %s", r)
		}
		eventually(t, 10*time.Second, func() error {
			if after := bridgeVeths(t, bridge); len(after) != len(before) {
				return fmt.Errorf("veths on %s after docker build: %v", bridge, after)
			}
			return nil
		})
	}

	// none: loopback only, the container is out of reach.
	none := t.TempDir()
	writeFiles(t, none, map[string]string{"Dockerfile": "FROM busybox\nRUN ls /sys/class/net; (" + shFetch("http://"+ip+"/") + ") || echo unreachable\n"})
	r = berthBuild(t, d, nil, "--progress=plain", "--no-cache", "--network=none", none)
	if r.Exit != 0 || !strings.Contains(r.Stderr, "unreachable") || strings.Contains(r.Stderr, "reached-the-bridge") || strings.Contains(r.Stderr, " eth0") {
		t.Fatalf("--network=none: %s", r)
	}

	// host: the step sees the host's interfaces, Berth's bridge among them.
	host := t.TempDir()
	writeFiles(t, host, map[string]string{"Dockerfile": "FROM busybox\nRUN ls /sys/class/net | grep -x " + bridge + "\n"})
	r = berthBuild(t, d, nil, "--progress=plain", "--no-cache", "--network=host", host)
	if r.Exit == 0 || !strings.Contains(r.Stderr, "--allow network.host") {
		t.Fatalf("--network=host without --allow: %s", r)
	}
	r = berthBuild(t, d, nil, "--progress=plain", "--no-cache", "--network=host", "--allow", "network.host", host)
	if r.Exit != 0 {
		t.Fatalf("--network=host --allow network.host: %s", r)
	}
	// The daemon can withhold the entitlement.
	if !d.Stop() {
		t.Fatal("berthd did not stop")
	}
	d.addConfig(t, map[string]any{"builder": map[string]any{"entitlements": map[string]any{"network-host": false}}})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	r = berthBuild(t, d, nil, "--progress=plain", "--no-cache", "--network=host", "--allow", "network.host", host)
	if r.Exit == 0 || !strings.Contains(r.Stderr, "network.host is not allowed") {
		t.Fatalf("--network=host with the daemon's entitlement off: %s", r)
	}
	b.Must(t, "rm", "-f", "bknet-web")
}
