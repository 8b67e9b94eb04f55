package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A start (and the attach and wait of `run`) arriving while berthd still
// prepares the container ahead: they do not queue behind the preparation,
// the start wires the network beside it and takes over as it ends. The
// daemon's test gate (BERTH_TEST_PREP_GATE) holds a preparation at a known
// point, after its network namespace is reserved, until the test lets it go
// on (or fail): no timing.

// prepGate is one container's gate: a FIFO named after the container.
type prepGate struct {
	t    *testing.T
	path string
}

func newPrepGate(t *testing.T, d *Daemon, name string) *prepGate {
	t.Helper()
	g := &prepGate{t: t, path: filepath.Join(d.Root, "gate", name)}
	if err := syscall.Mkfifo(g.path, 0o600); err != nil {
		t.Fatal(err)
	}
	// A test that fails before opening its gate must not leave the
	// preparation (and so berthd's stop) waiting.
	t.Cleanup(func() {
		g.open("ok", syscall.O_NONBLOCK)
		os.Remove(g.path)
	})
	return g
}

// waitStep waits for the marker berthd leaves at a step: "reached" (the
// preparation waits at the gate) or "claimed" (a start took it over).
func (g *prepGate) waitStep(step string) {
	g.t.Helper()
	waitFor(g.t, 60*time.Second, filepath.Base(g.path)+"'s preparation "+step, func() bool {
		_, err := os.Stat(g.path + "." + step)
		return err == nil
	})
}

// open lets the preparation go on ("ok") or fail ("fail").
func (g *prepGate) open(word string, flags int) {
	f, err := os.OpenFile(g.path, os.O_WRONLY|flags, 0)
	if err != nil {
		return // nobody waits (nonblocking), or opened before
	}
	f.WriteString(word)
	f.Close()
	os.Remove(g.path)
}

func (g *prepGate) release(word string) { g.open(word, 0) }

// runAsync runs the CLI in the background.
func runAsync(t *testing.T, c CLI, args ...string) <-chan Result {
	ch := make(chan Result, 1)
	go func() { ch <- c.Run(t, args...) }()
	return ch
}

func TestStartAheadMidPreparation(t *testing.T) {
	d := newStoppedDaemon(t)
	if err := os.Mkdir(filepath.Join(d.Root, "gate"), 0o700); err != nil {
		t.Fatal(err)
	}
	d.Env = []string{"BERTH_TEST_PREP_GATE=" + filepath.Join(d.Root, "gate")}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	t.Run("run attached", func(t *testing.T) { midPrepRun(t, d) })
	t.Run("run released early", func(t *testing.T) { midPrepReleased(t, d) })
	t.Run("start -a", func(t *testing.T) { midPrepStartA(t, d) })
	t.Run("failing preparation", func(t *testing.T) { midPrepFailing(t, d) })
	t.Run("rm", func(t *testing.T) { midPrepRm(t, d) })
	t.Run("network connect", func(t *testing.T) { midPrepNetworkConnect(t, d) })
	t.Run("veth deleted before start", func(t *testing.T) { aheadVethDeleted(t, d) })
	// Last: these restart berthd.
	t.Run("berthd killed mid-start", func(t *testing.T) { midPrepKilled(t, d) })
	t.Run("berthd killed mid-create", func(t *testing.T) { createKilledLaunched(t, d) })
	t.Run("berthd killed after the early release", func(t *testing.T) { releasedKilled(t, d) })
}

// midPrepReleased: the start claimed the preparation and asked for the
// early release; the monitor started the process as the runtime created
// it, with run's attach sessions handed over before: run gets all the
// output and the exit code.
func midPrepReleased(t *testing.T, d *Daemon) {
	b := d.Berth()
	name := uniq("mid-rel")
	g := newPrepGate(t, d, name)
	started := newPrepGate(t, d, name+".start")
	res := runAsync(t, b, "run", "--name", name, "busybox", "sh", "-c", "echo to-out; echo to-err >&2; exit 3")
	g.waitStep("claimed")
	g.waitStep("requested")
	g.release("ok")
	started.waitStep("released")
	started.release("ok")
	if r := <-res; r.Stdout != "to-out\n" || r.Stderr != "to-err\n" || r.Exit != 3 {
		t.Errorf("run released early: %s", r)
	}
	b.Must(t, "rm", name)
}

// releasedKilled: berthd is SIGKILLed after the monitor started the
// process on the early release, before the start's commit: the next
// berthd leaves nothing of that run, the container is created and starts
// again.
func releasedKilled(t *testing.T, d *Daemon) {
	b := d.Berth()
	name := uniq("rel-kill")
	g := newPrepGate(t, d, name)
	started := newPrepGate(t, d, name+".start")
	id := b.Must(t, "create", "--name", name, "busybox", "sh", "-c", "echo ran; sleep 1d")
	g.waitStep("reached")
	res := runAsync(t, b, "start", name)
	g.waitStep("requested")
	g.release("ok")
	started.waitStep("released")
	d.Kill()
	<-res
	os.Remove(started.path)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error { return leftErr("SIGKILL after the early release and restart", leftOf(d, id)) })
	if st := b.Must(t, "inspect", "-f", "{{.State.Status}}", id); st != "created" {
		t.Errorf("after SIGKILL after the early release and restart: %q, want created", st)
	}
	b.Must(t, "start", id)
	if st := b.Must(t, "inspect", "-f", "{{.State.Status}}", id); st != "running" {
		t.Errorf("started again: %q, want running", st)
	}
	b.Must(t, "rm", "-f", id)
}

// midPrepRun: `run` attaches, waits and starts while the preparation is
// held; it gets all the output and the exit code once it goes on.
func midPrepRun(t *testing.T, d *Daemon) {
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("mid-run")
		g := newPrepGate(t, d, name)
		res := runAsync(t, c, "run", "--name", name, "busybox", "sh", "-c", "echo to-out; echo to-err >&2; exit 3")
		g.waitStep("reached")
		g.waitStep("claimed")
		g.release("ok")
		if r := <-res; !strings.Contains(r.Stdout, "to-out") || !strings.Contains(r.Stderr, "to-err") || r.Exit != 3 {
			t.Errorf("run started mid-preparation: %s", r)
		}
		c.Must(t, "rm", name)
	})
}

// midPrepStartA: the start wired the network beside the preparation: the
// container has its address and /etc/hosts names it.
func midPrepStartA(t *testing.T, d *Daemon) {
	b := d.Berth()
	name := uniq("mid-start")
	g := newPrepGate(t, d, name)
	b.Must(t, "create", "--name", name, "busybox", "sh", "-c", "ip -o -4 addr show eth0; cat /etc/hosts")
	g.waitStep("reached")
	// Held at the gate: inspect and ps answer meanwhile.
	if st := b.Must(t, "inspect", "-f", "{{.State.Status}}", name); st != "created" {
		t.Errorf("inspect during the preparation: %q, want created", st)
	}
	if ps := b.Must(t, "ps", "-a", "--filter", "name="+name, "--format", "{{.Names}} {{.State}}"); ps != name+" created" {
		t.Errorf("ps during the preparation: %q, want %q", ps, name+" created")
	}
	res := runAsync(t, b, "start", "-a", name)
	g.waitStep("claimed")
	g.release("ok")
	r := <-res
	f := strings.Fields(r.Stdout)
	if r.Exit != 0 || len(f) < 4 || f[1] != "eth0" || f[2] != "inet" {
		t.Fatalf("start -a mid-preparation: %s", r)
	}
	ip, _, _ := strings.Cut(f[3], "/")
	if !strings.Contains(r.Stdout, ip+"\t") {
		t.Errorf("/etc/hosts lacks the container's address %s:\n%s", ip, r.Stdout)
	}
	b.Must(t, "rm", name)
}

// midPrepFailing: the preparation fails after the start wired the
// network (or its runtime's create fails): the start goes the usual way
// and reports its own outcome, and a failed start leaves nothing behind.
func midPrepFailing(t *testing.T, d *Daemon) {
	b := d.Berth()
	for _, tc := range []struct{ cmd, want, gate string }{
		{"echo started-afresh", "started-afresh", "fail"},
		{"no-such-command-here", "", "fail"},
		// The runtime's create fails after the start asked for the
		// early release: the start reports the runtime's error as
		// always.
		{"no-such-command-here", "", "ok"},
	} {
		name := uniq("mid-fail")
		g := newPrepGate(t, d, name)
		res := runAsync(t, b, append([]string{"run", "--name", name, "busybox"}, strings.Fields(tc.cmd)...)...)
		g.waitStep("claimed")
		if tc.gate == "ok" {
			g.waitStep("requested")
		}
		g.release(tc.gate)
		r := <-res
		switch {
		case tc.want != "" && (r.Exit != 0 || r.Out() != tc.want):
			t.Errorf("run after a failed preparation: %s", r)
		case tc.want == "" && (r.Exit != 127 || !strings.Contains(r.Stderr, "executable file not found")):
			t.Errorf("run of a missing command after a failed preparation: %s, want exit 127 and Docker's error", r)
		}
		id := b.Must(t, "inspect", "-f", "{{.Id}}", name)
		b.Must(t, "rm", name)
		eventually(t, 30*time.Second, func() error { return leftErr("a start after a failed preparation", leftOf(d, id)) })
	}
}

// midPrepRm: rm during the preparation waits for it and leaves nothing.
func midPrepRm(t *testing.T, d *Daemon) {
	b := d.Berth()
	name := uniq("mid-rm")
	g := newPrepGate(t, d, name)
	id := b.Must(t, "create", "--name", name, "-p", "127.0.0.1::80", "-v", "/data", "busybox", "sleep", "1d")
	g.waitStep("reached")
	res := runAsync(t, b, "rm", "-f", "-v", name)
	g.release("ok")
	if r := <-res; r.Exit != 0 {
		t.Fatalf("rm during the preparation: %s", r)
	}
	eventually(t, 30*time.Second, func() error { return leftErr("rm during the preparation", leftOf(d, id)) })
}

// midPrepNetworkConnect: a network connected during the preparation is
// there at the start.
func midPrepNetworkConnect(t *testing.T, d *Daemon) {
	b := d.Berth()
	sub, gw := netSubnet(d, 2)
	net := "mid-net-" + d.Net
	b.Must(t, "network", "create", "--subnet", sub, "--gateway", gw, net)
	defer b.Run(t, "network", "rm", net)
	name := uniq("mid-conn")
	g := newPrepGate(t, d, name)
	b.Must(t, "create", "--name", name, "busybox", "sleep", "1d")
	g.waitStep("reached")
	res := runAsync(t, b, "network", "connect", net, name)
	g.release("ok")
	if r := <-res; r.Exit != 0 {
		t.Fatalf("network connect during the preparation: %s", r)
	}
	b.Must(t, "start", name)
	addrs := b.Must(t, "exec", name, "ip", "-o", "-4", "addr")
	if !strings.Contains(addrs, "eth1") || !strings.Contains(addrs, strings.TrimSuffix(gw, ".1")) {
		t.Errorf("the network connected during the preparation is missing inside:\n%s", addrs)
	}
	b.Must(t, "rm", "-f", name)
}

func leftErr(after string, left []string) error {
	if len(left) > 0 {
		return fmt.Errorf("left after %s: %v", after, left)
	}
	return nil
}

// midPrepKilled: berthd is SIGKILLed while a start has wired the network
// beside a held preparation; the next berthd leaves nothing of either, and
// the container starts afresh with its network.
func midPrepKilled(t *testing.T, d *Daemon) {
	b := d.Berth()
	name := uniq("mid-kill")
	g := newPrepGate(t, d, name)
	id := b.Must(t, "create", "--name", name, "busybox", "sh", "-c", "ip -o -4 addr show eth0; sleep 1d")
	g.waitStep("reached")
	res := runAsync(t, b, "start", name)
	g.waitStep("claimed")
	ns := filepath.Join(d.ExecRoot, "netns", id)
	waitFor(t, 60*time.Second, "the network wired beside the preparation", func() bool {
		out, err := exec.Command("nsenter", "--net="+ns, "ip", "-o", "-4", "addr", "show", "eth0").Output()
		return err == nil && strings.Contains(string(out), "inet ")
	})
	d.Kill()
	<-res
	os.Remove(g.path)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	// Some leftovers are swept in the background after start-up.
	eventually(t, 30*time.Second, func() error { return leftErr("SIGKILL mid-start and restart", leftOf(d, id)) })
	if st := b.Must(t, "inspect", "-f", "{{.State.Status}}", id); st != "created" {
		t.Errorf("after SIGKILL mid-start and restart: %q, want created", st)
	}
	b.Must(t, "start", id)
	eventually(t, 30*time.Second, func() error {
		if out := b.Must(t, "logs", id); !strings.Contains(out, "inet ") {
			return fmt.Errorf("logs %q, want eth0's address", out)
		}
		return nil
	})
	b.Must(t, "rm", "-f", id)
}

// aheadVethDeleted: the host end of a prepared container's pooled veth is
// deleted (as a host clean-up of unknown veths does); the start makes a
// new namespace, which the prepared init did not join: it starts afresh,
// with its network.
func aheadVethDeleted(t *testing.T, d *Daemon) {
	b := d.Berth()
	id := b.Must(t, "create", "busybox", "sleep", "1d")
	waitPrepared(t, d, id)
	out, err := exec.Command("nsenter", "--net="+filepath.Join(d.ExecRoot, "netns", id), "ip", "-o", "link", "show", "eth0").Output()
	_, peer, ok := strings.Cut(strings.Fields(string(out) + " x")[1], "@if")
	if err != nil || !ok {
		t.Fatalf("the prepared namespace's eth0: %q %v", out, err)
	}
	idx, _ := strings.CutSuffix(peer, ":")
	links, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	host := ""
	for _, l := range strings.Split(string(links), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == idx+":" {
			host, _, _ = strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		}
	}
	if host == "" {
		t.Fatalf("no host link with index %s", idx)
	}
	if out, err := exec.Command("ip", "link", "del", host).CombinedOutput(); err != nil {
		t.Fatalf("ip link del %s: %v %s", host, err, out)
	}
	b.Must(t, "start", id)
	if addr := b.Must(t, "exec", id, "ip", "-o", "-4", "addr", "show", "eth0"); !strings.Contains(addr, "inet ") {
		t.Errorf("after its pooled veth was deleted, the container's eth0: %q", addr)
	}
	b.Must(t, "rm", "-f", id)
}

// createKilledLaunched: berthd is SIGKILLed while a create has launched
// the container's monitor (for its preparation ahead) but not committed
// its record; the monitor exits, the next berthd leaves nothing of the
// container (process, state directory, layer) and its name is free.
func createKilledLaunched(t *testing.T, d *Daemon) {
	b := d.Berth()
	name := uniq("create-kill")
	g := newPrepGate(t, d, name+".create")
	states := filepath.Join(d.ExecRoot, "containers")
	before := dirNames(states)
	res := runAsync(t, b, "create", "--name", name, "busybox", "true")
	g.waitStep("launched")
	var id string
	for n := range dirNames(states) {
		if !before[n] {
			id = n
		}
	}
	if id == "" {
		t.Fatal("no state directory for the container being created")
	}
	if left := leftOf(d, id); len(left) == 0 || !strings.HasPrefix(left[0], "process ") {
		t.Fatalf("the create held before its commit has no monitor launched: %v", left)
	}
	d.Kill()
	<-res
	os.Remove(g.path)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		left := leftOf(d, id)
		for _, p := range []string{filepath.Join(states, id), filepath.Join(d.DataRoot, "image", "overlay", id)} {
			if _, err := os.Stat(p); err == nil {
				left = append(left, p)
			}
		}
		return leftErr("SIGKILL mid-create and restart", left)
	})
	if r := b.Run(t, "inspect", name); r.Exit == 0 {
		t.Fatalf("a create cut short before its commit left a container: %s", r)
	}
	b.Must(t, "rm", b.Must(t, "create", "--name", name, "busybox", "true"))
}

// dirNames is the set of names in dir.
func dirNames(dir string) map[string]bool {
	ents, _ := os.ReadDir(dir)
	names := make(map[string]bool, len(ents))
	for _, de := range ents {
		names[de.Name()] = true
	}
	return names
}
