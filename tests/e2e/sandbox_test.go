package e2e

import (
	"fmt"
	netpkg "net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireRunsc skips sandbox tests where gVisor's runsc is not installed
// (scripts/setup.sh builds it; CI runs that).
func requireRunsc(t *testing.T) {
	t.Helper()
	if !hasRunsc() {
		t.Skip("runsc (gVisor) is not installed: scripts/setup.sh builds it; sandbox isolation cannot be tested")
	}
}

// gvisorRelease tells gVisor's kernel release: older runsc said 4.4.0,
// newer ones say e.g. 4.19.0-gvisor.
func gvisorRelease(r string) bool {
	return r == "4.4.0" || strings.HasSuffix(r, "-gvisor")
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSandboxKernelAndInspect(t *testing.T) {
	requireRunsc(t)
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		for _, iso := range []string{"sandbox", "hyperv"} {
			out := c.Must(t, "run", "--rm", "--isolation="+iso, "busybox", "dmesg")
			if !strings.Contains(out, "gVisor") {
				t.Errorf("--isolation=%s: dmesg does not show gVisor's kernel: %q", iso, out)
			}
		}
		if out := strings.TrimSpace(c.Must(t, "run", "--rm", "--runtime", "runsc", "busybox", "uname", "-r")); !gvisorRelease(out) {
			t.Errorf("--runtime runsc: uname -r = %q, want gVisor's (4.4.0 or x.y.z-gvisor)", out)
		}
		if out := strings.TrimSpace(c.Must(t, "run", "--rm", "busybox", "uname", "-r")); gvisorRelease(out) {
			t.Errorf("process isolation reports gVisor's kernel version: the default must be the host kernel")
		}
		name := uniq("sbx-inspect-" + c.Name)
		c.Must(t, "create", "--name", name, "--isolation=hyperv", "busybox", "true")
		got := strings.TrimSpace(c.Must(t, "inspect", "-f", "{{.HostConfig.Isolation}} {{.HostConfig.Runtime}}", name))
		if got != "sandbox runsc" {
			t.Errorf("inspect: isolation and runtime = %q, want \"sandbox runsc\"", got)
		}
		c.Must(t, "rm", name)
	})
}

func TestSandboxRefusals(t *testing.T) {
	requireRunsc(t)
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--isolation=sandbox", "--privileged"}, "--privileged is not supported with sandbox isolation"},
			{[]string{"--isolation=sandbox", "--pid=host"}, "--pid=host is not supported with sandbox isolation"},
			{[]string{"--isolation=sandbox", "--network=host"}, "--network=host is not supported with sandbox isolation"},
			{[]string{"--isolation=sandbox", "--device", "/dev/null"}, "--device is not supported with sandbox isolation"},
			{[]string{"--isolation=sandbox", "--memory", "64m"}, "resource limits"},
			{[]string{"--runtime", "runsc", "--privileged"}, "--privileged is not supported with sandbox isolation"},
			{[]string{"--isolation=sandbox", "--runtime", "runc"}, "conflicting options"},
			{[]string{"--isolation=process", "--runtime", "runsc"}, "conflicting options"},
			{[]string{"--isolation=vm"}, "Invalid isolation"},
		} {
			name := uniq("sbx-refused-" + c.Name)
			r := c.Run(t, append(append([]string{"create", "--name", name}, tc.args...), "busybox", "true")...)
			if r.Exit == 0 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("create %v: want a refusal containing %q, got %s", tc.args, tc.want, r)
			}
			if r := c.Run(t, "inspect", name); r.Exit == 0 {
				t.Errorf("create %v was refused but left container %s behind", tc.args, name)
				c.Run(t, "rm", "-f", name)
			}
		}
	})
}

func TestSandboxInfo(t *testing.T) {
	requireRunsc(t)
	d := sharedDaemon(t, "core")
	r := d.Docker(t).Run(t, "info")
	out := r.Stdout + r.Stderr // docker info prints warnings on stderr
	if !strings.Contains(out, "isolations available: process, sandbox, hyperv") {
		t.Errorf("docker info does not list the isolations:\n%s", out)
	}
	found := false
	for _, line := range strings.Split(out, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "Runtimes:") && strings.Contains(l+" ", " runsc ") {
			found = true
		}
	}
	if !found {
		t.Errorf("docker info does not list runsc among the runtimes:\n%s", out)
	}
}

func TestSandboxLifecycle(t *testing.T) {
	requireRunsc(t)
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("sbx-life-" + c.Name)
		c.Must(t, "run", "-d", "--name", name, "--isolation=sandbox", "busybox", "sh", "-c", "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.2; done")
		defer c.Run(t, "rm", "-f", name)
		waitUntil(t, 30*time.Second, "the sandboxed container's first log line", func() bool {
			return strings.Contains(c.Run(t, "logs", name).Stdout, "started")
		})
		if out := strings.TrimSpace(c.Must(t, "exec", name, "uname", "-r")); !gvisorRelease(out) {
			t.Errorf("exec in a sandboxed container: uname -r = %q, want gVisor's", out)
		}
		c.Must(t, "exec", name, "sh", "-c", "echo hi > /tmp/f")
		if out := strings.TrimSpace(c.Must(t, "exec", name, "cat", "/tmp/f")); out != "hi" {
			t.Errorf("a file written by one exec is not seen by the next: %q", out)
		}
		c.Must(t, "pause", name)
		if st := strings.TrimSpace(c.Must(t, "inspect", "-f", "{{.State.Status}}", name)); st != "paused" {
			t.Errorf("after pause: status %q", st)
		}
		c.Must(t, "unpause", name)
		c.Must(t, "stop", "-t", "10", name)
		if code := strings.TrimSpace(c.Must(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name)); code != "exited 0" {
			t.Errorf("stop: want the TERM trap to exit 0, got %q", code)
		}
		if !strings.Contains(c.Must(t, "logs", name), "bye") {
			t.Errorf("stop did not deliver SIGTERM to the sandboxed process (no \"bye\" in the logs)")
		}
		c.Must(t, "start", name)
		waitUntil(t, 30*time.Second, "the restarted container to run", func() bool {
			return strings.TrimSpace(c.Run(t, "inspect", "-f", "{{.State.Running}}", name).Stdout) == "true"
		})
		c.Must(t, "kill", name)
		c.Must(t, "rm", name)
		if r := c.Run(t, "run", "--rm", "--isolation=sandbox", "busybox", "sh", "-c", "exit 7"); r.Exit != 7 {
			t.Errorf("run --rm under sandbox: want exit 7, got %s", r)
		}
	})
}

// TestSandboxNetworkFilesAndProbes: a sandboxed web server on a user
// network is reached through its published port and from another
// sandboxed container by address; volumes, binds, cp and commit see
// the sandbox's writes; the host's loopback and devices stay out of reach.
func TestSandboxNetworkFilesAndProbes(t *testing.T) {
	requireRunsc(t)
	d := sharedDaemon(t, "core")
	c := d.Docker(t)
	net := uniq("sbxnet")
	sub, gw := netSubnet(d, 41)
	createNet(t, c, net, "--subnet", sub, "--gateway", gw)
	web := uniq("sbx-web")
	runHttpd(t, c, web, "sandboxed", "--isolation=sandbox", "--network", net, "-p", "127.0.0.1::80")
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort(t, c, web, "127.0.0.1")), "sandboxed")
	// Container to container on the user network, by address and by name:
	// a sandbox's resolver is the embedded DNS on its network's gateway.
	ip := strings.TrimSpace(c.Must(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", web))
	var r Result
	for _, host := range []string{ip, web} {
		eventually(t, 10*time.Second, func() error {
			r = c.Run(t, "run", "--rm", "--isolation=sandbox", "--network", net, "busybox", "sh", "-c", shFetch("http://"+host+"/index.html"))
			if r.Exit != 0 || strings.TrimSpace(r.Stdout) != "sandboxed" {
				return fmt.Errorf("fetch %s from a sandboxed container on the same network: %s", host, r)
			}
			return nil
		})
	}
	if out := c.Must(t, "run", "--rm", "--isolation=sandbox", "--network", net, "busybox", "cat", "/etc/resolv.conf"); !strings.Contains(out, "nameserver "+gw+"\n") {
		t.Errorf("a sandbox on %s should use the gateway %s as resolver: %q", net, gw, out)
	}
	// That resolver serves the network's members only: not a container on
	// another network (its packets arrive on another bridge), not the host.
	other := uniq("sbxnet2")
	sub2, gw2 := netSubnet(d, 42)
	createNet(t, c, other, "--subnet", sub2, "--gateway", gw2)
	if r := c.Run(t, "run", "--rm", "--network", other, "busybox", "nslookup", web, gw); r.Exit == 0 || strings.Contains(r.Stdout, ip) {
		t.Errorf("a container on another network got an answer from %s's sandbox resolver: %s", net, r)
	}
	// From the host the query reaches the socket (the gateway is local) and
	// must be REFUSED: the host is no endpoint of the network.
	if rcode, err := dnsQueryRcode(gw, web); err != nil || rcode != 5 {
		t.Errorf("a query from the host to %s's sandbox resolver at %s: rcode %d, %v; want REFUSED (5)", net, gw, rcode, err)
	}
	if !udpListening(gw, 53) {
		t.Errorf("no embedded DNS listener on %s:53 while a sandbox is on %s", gw, net)
	}
	c.Must(t, "rm", "-f", web)
	waitUntil(t, 10*time.Second, "the gateway resolver to close with the network's last sandbox", func() bool { return !udpListening(gw, 53) })

	// The host's loopback: a server there must not be reachable.
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*netpkg.TCPAddr).Port
	r = c.Run(t, "run", "--rm", "--isolation=sandbox", "busybox", "sh", "-c", shFetch(fmt.Sprintf("http://127.0.0.1:%d/", port)))
	if r.Exit == 0 {
		t.Errorf("a sandboxed container reached the host's loopback: %s", r)
	}
	r = c.Run(t, "run", "--rm", "--isolation=sandbox", "busybox", "sh", "-c", "for p in /dev/mem /dev/kmsg /dev/sda /proc/kcore; do test -e $p && echo $p; done; ls -A /sys/firmware 2>/dev/null; true")
	if strings.TrimSpace(r.Stdout) != "" || r.Exit != 0 {
		t.Errorf("host device or kernel paths are visible in the sandbox: %q (%s)", r.Stdout, r)
	}

	vol := uniq("sbxvol")
	defer c.Run(t, "volume", "rm", vol)
	bind := t.TempDir()
	c.Must(t, "run", "--rm", "--isolation=sandbox", "-v", vol+":/data", "-v", bind+":/bind", "busybox", "sh", "-c", "echo v > /data/f && echo b > /bind/f")
	if out := strings.TrimSpace(c.Must(t, "run", "--rm", "-v", vol+":/data", "busybox", "cat", "/data/f")); out != "v" {
		t.Errorf("volume written in the sandbox reads %q", out)
	}
	if b, err := os.ReadFile(filepath.Join(bind, "f")); err != nil || strings.TrimSpace(string(b)) != "b" {
		t.Errorf("bind written in the sandbox: %q, %v", b, err)
	}

	name := uniq("sbx-files")
	c.Must(t, "run", "--name", name, "--isolation=sandbox", "busybox", "sh", "-c", "echo inside > /made-here")
	defer c.Run(t, "rm", "-f", name)
	dst := filepath.Join(t.TempDir(), "out")
	c.Must(t, "cp", name+":/made-here", dst)
	if b, err := os.ReadFile(dst); err != nil || strings.TrimSpace(string(b)) != "inside" {
		t.Errorf("cp from a sandboxed container: %q, %v", b, err)
	}
	img := strings.ToLower(uniq("sbx-commit"))
	c.Must(t, "commit", name, img)
	defer c.Run(t, "rmi", img)
	if out := strings.TrimSpace(c.Must(t, "run", "--rm", "--isolation=sandbox", img, "cat", "/made-here")); out != "inside" {
		t.Errorf("committed image of a sandboxed container: /made-here = %q", out)
	}
}

func listenLoopback() (netpkg.Listener, error) { return netpkg.Listen("tcp", "127.0.0.1:0") }

// dnsQueryRcode sends one A query for name to server:53 from the host and
// returns the answer's rcode (an error when none came).
func dnsQueryRcode(server, name string) (int, error) {
	conn, err := netpkg.Dial("udp4", netpkg.JoinHostPort(server, "53"))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	q := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range strings.Split(name, ".") {
		q = append(append(q, byte(len(label))), label...)
	}
	q = append(q, 0, 0, 1, 0, 1)
	if _, err := conn.Write(q); err != nil {
		return 0, err
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	b := make([]byte, 512)
	n, err := conn.Read(b)
	if err != nil {
		return 0, err
	}
	if n < 4 {
		return 0, fmt.Errorf("short DNS answer")
	}
	return int(b[3] & 0x0f), nil
}

// udpListening reports whether a UDP socket on the host is bound to ip:port
// (as /proc/net/udp lists it).
func udpListening(ip string, port int) bool {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false
	}
	a := netpkg.ParseIP(ip).To4()
	if a == nil {
		return false
	}
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], port)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == want {
			return true
		}
	}
	return false
}

// TestSandboxTerminalStatsRestart: exec without a terminal, stats reads
// the sandbox's memory, top its processes; a restart policy restarts a
// sandboxed container that fails.
func TestSandboxTerminalStatsRestart(t *testing.T) {
	requireRunsc(t)
	d := sharedDaemon(t, "core")
	c := d.Docker(t)
	name := uniq("sbx-term")
	c.Must(t, "run", "-d", "--name", name, "--isolation=sandbox", "busybox", "sleep", "300")
	defer c.Run(t, "rm", "-f", name)
	if out := strings.TrimSpace(c.Must(t, "exec", name, "echo", "plain")); out != "plain" {
		t.Errorf("exec without a terminal in a sandbox: %q", out)
	}
	mem := strings.TrimSpace(c.Must(t, "stats", "--no-stream", "--format", "{{.MemUsage}}", name))
	if mem == "" || strings.HasPrefix(mem, "0B") {
		t.Errorf("stats of a sandboxed container shows no memory use: %q", mem)
	}
	top := c.Must(t, "top", name)
	if !strings.Contains(top, "sleep") {
		t.Errorf("top of a sandboxed container does not list its sleep: %q", top)
	}

	rs := uniq("sbx-restart")
	c.Must(t, "run", "-d", "--name", rs, "--isolation=sandbox", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1")
	defer c.Run(t, "rm", "-f", rs)
	waitUntil(t, 60*time.Second, "two restarts of the failing sandboxed container", func() bool {
		out := strings.TrimSpace(c.Run(t, "inspect", "-f", "{{.RestartCount}} {{.State.Running}}", rs).Stdout)
		return out == "2 false"
	})
}

// TestSandboxInteractive: typed input reaches a sandboxed shell through
// run -it, exec -it and attach, and its exit code comes back; healthchecks
// run inside the sandbox.
func TestSandboxInteractive(t *testing.T) {
	requireRunsc(t)
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		p := c.StartPty(t, "run", "--rm", "-it", "--isolation=sandbox", "busybox", "sh")
		p.Expect("# ", 30*time.Second)
		p.Write("uname -r; echo hi-$((1+1))\r")
		p.Expect("hi-2", 10*time.Second)
		if !strings.Contains(p.Output(), "-gvisor") && !strings.Contains(p.Output(), "4.4.0") {
			t.Errorf("run -it --isolation=sandbox: the shell does not run on gVisor's kernel: %q", p.Output())
		}
		p.Write("exit 4\r")
		if code := p.Wait(20 * time.Second); code != 4 {
			t.Errorf("run -it under sandbox, exit 4: client exit %d; output %q", code, p.Output())
		}

		name := uniq("sbx-it-" + c.Name)
		c.Must(t, "run", "-d", "--name", name, "--isolation=sandbox", "busybox", "sleep", "300")
		defer c.Run(t, "rm", "-f", name)
		p = c.StartPty(t, "exec", "-it", name, "sh")
		p.Expect("# ", 30*time.Second)
		p.Write("echo x-$((6*7)) > /tmp/typed; cat /tmp/typed\r")
		p.Expect("x-42", 10*time.Second)
		p.Write("exit 3\r")
		if code := p.Wait(20 * time.Second); code != 3 {
			t.Errorf("exec -it under sandbox, exit 3: client exit %d; output %q", code, p.Output())
		}
		if out := strings.TrimSpace(c.Must(t, "exec", name, "cat", "/tmp/typed")); out != "x-42" {
			t.Errorf("what exec -it typed did not run in the sandbox: /tmp/typed = %q", out)
		}

		bg := uniq("sbx-attach-" + c.Name)
		c.Must(t, "run", "-dit", "--name", bg, "--isolation=sandbox", "busybox", "sh")
		defer c.Run(t, "rm", "-f", bg)
		p = c.StartPty(t, "attach", bg)
		p.Write("echo at-$((2*3))\r")
		p.Expect("at-6", 30*time.Second)
		p.Write("exit 5\r")
		if code := p.Wait(20 * time.Second); code != 5 {
			t.Errorf("attach to a sandboxed shell, exit 5: client exit %d; output %q", code, p.Output())
		}
		waitUntil(t, 20*time.Second, "the attached sandboxed shell to exit 5", func() bool {
			return strings.TrimSpace(c.Run(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", bg).Stdout) == "exited 5"
		})
	})

	c := d.Docker(t)
	hc := uniq("sbx-health")
	c.Must(t, "run", "-d", "--name", hc, "--isolation=sandbox", "--health-cmd", "test -e /tmp/ready && uname -r",
		"--health-interval", "1s", "--health-retries", "2", "busybox", "sh", "-c", "sleep 2; touch /tmp/ready; sleep 300")
	defer c.Run(t, "rm", "-f", hc)
	waitUntil(t, 60*time.Second, "the sandboxed container to turn healthy", func() bool {
		return strings.TrimSpace(c.Run(t, "inspect", "-f", "{{.State.Health.Status}}", hc).Stdout) == "healthy"
	})
	if out := c.Must(t, "inspect", "-f", "{{range .State.Health.Log}}{{.Output}}{{end}}", hc); !strings.Contains(out, "gvisor") && !strings.Contains(out, "4.4.0") {
		t.Errorf("the healthcheck did not run inside the sandbox (uname -r printed %q)", out)
	}
	sick := uniq("sbx-sick")
	c.Must(t, "run", "-d", "--name", sick, "--isolation=sandbox", "--health-cmd", "exit 1",
		"--health-interval", "1s", "--health-retries", "2", "busybox", "sleep", "300")
	defer c.Run(t, "rm", "-f", sick)
	waitUntil(t, 60*time.Second, "the failing sandboxed healthcheck to mark the container unhealthy", func() bool {
		return strings.TrimSpace(c.Run(t, "inspect", "-f", "{{.State.Health.Status}}", sick).Stdout) == "unhealthy"
	})
}

// TestResolvConfFollowsNetworks: `network connect` and `disconnect` of a
// running container rewrite its resolv.conf as Docker does: the embedded
// DNS at 127.0.0.11 comes with the first user network and goes with the
// last; a sandbox's resolver (its user network's gateway) goes with that
// network. A resolv.conf the user edited is left alone. A running sandbox
// cannot join a network (runsc's netstack takes the interfaces at boot):
// refused, not accepted and left unreachable.
func TestResolvConfFollowsNetworks(t *testing.T) {
	d := sharedDaemon(t, "core")
	c := d.Docker(t)
	net := uniq("rcnet")
	sub, gw := netSubnet(d, 44)
	createNet(t, c, net, "--subnet", sub, "--gateway", gw)
	peer := uniq("rc-peer")
	c.Must(t, "run", "-d", "--name", peer, "--network", net, "busybox", "sleep", "600")
	t.Cleanup(func() { c.Run(t, "rm", "-f", peer) })
	resolv := func(name string) string { return c.Must(t, "exec", name, "cat", "/etc/resolv.conf") }
	plain := uniq("rc-plain")
	c.Must(t, "run", "-d", "--name", plain, "busybox", "sleep", "600")
	t.Cleanup(func() { c.Run(t, "rm", "-f", plain) })
	first := resolv(plain)
	if strings.Contains(first, "127.0.0.11") {
		t.Fatalf("a container on the default bridge uses the embedded DNS: %q", first)
	}
	c.Must(t, "network", "connect", net, plain)
	if got := resolv(plain); !strings.Contains(got, "nameserver 127.0.0.11") {
		t.Errorf("connected to %s: resolv.conf %q, want the embedded DNS", net, got)
	}
	if r := c.Run(t, "exec", plain, "nslookup", peer); r.Exit != 0 || !strings.Contains(r.Stdout, "Address") {
		t.Errorf("connected to %s, %s is not resolved: %s", net, peer, r)
	}
	c.Must(t, "network", "disconnect", net, plain)
	if got := resolv(plain); got != first {
		t.Errorf("disconnected from %s: resolv.conf %q, want the first one back %q", net, got, first)
	}

	edited := uniq("rc-edited")
	c.Must(t, "run", "-d", "--name", edited, "busybox", "sleep", "600")
	t.Cleanup(func() { c.Run(t, "rm", "-f", edited) })
	c.Must(t, "exec", edited, "sh", "-c", "echo 'nameserver 192.0.2.1' > /etc/resolv.conf")
	c.Must(t, "network", "connect", net, edited)
	if got := resolv(edited); got != "nameserver 192.0.2.1" {
		t.Errorf("a resolv.conf the user edited was rewritten on connect: %q", got)
	}

	if !hasRunsc() {
		t.Log("runsc (gVisor) is not installed: the sandbox half is not tested")
		return
	}
	sbx := uniq("rc-sbx")
	c.Must(t, "run", "-d", "--name", sbx, "--isolation=sandbox", "--network", net, "busybox", "sleep", "600")
	t.Cleanup(func() { c.Run(t, "rm", "-f", sbx) })
	if got := resolv(sbx); !strings.Contains(got, "nameserver "+gw) {
		t.Fatalf("a sandbox on %s: resolv.conf %q, want its gateway %s", net, got, gw)
	}
	c.Must(t, "network", "disconnect", net, sbx)
	if got := resolv(sbx); strings.Contains(got, gw) {
		t.Errorf("a sandbox disconnected from %s keeps that network's resolver: %q", net, got)
	}
	net2 := uniq("rcnet")
	sub2, gw2 := netSubnet(d, 45)
	createNet(t, c, net2, "--subnet", sub2, "--gateway", gw2)
	r := c.Run(t, "network", "connect", net2, sbx)
	if r.Exit == 0 || !strings.Contains(r.Stderr, "sandbox") {
		t.Errorf("a running sandbox was connected to a network it cannot reach: %s", r)
	}
	if out := c.Must(t, "inspect", "-f", "{{len .NetworkSettings.Networks}}", sbx); out != "0" {
		t.Errorf("the refused connect left %s networks in inspect", out)
	}
}
