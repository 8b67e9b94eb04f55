package e2e

// Issue 10 items 11-13 at start-up: a refused start touches nothing on the
// host, a second berthd never takes over a live daemon's socket or pid
// file, and reserved ranges are refused in daemon.json.

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// rootsArgs are d's roots and config without -H and --pidfile, which the
// tests below vary.
func (d *Daemon) rootsArgs(extra ...string) []string {
	return append([]string{"--data-root", d.DataRoot, "--exec-root", d.ExecRoot, "--config-file", d.Config}, extra...)
}

// hostTraces lists what a start of d left on the host: its bridge, its
// netfilter chains, its roots and socket.
func (d *Daemon) hostTraces() []string {
	var out []string
	if _, err := os.Stat("/sys/class/net/bt" + d.Net); err == nil {
		out = append(out, "bridge bt"+d.Net)
	}
	for _, table := range []string{"filter", "nat", "raw"} {
		save, _ := exec.Command("iptables-save", "-t", table).Output()
		if strings.Contains(string(save), "BT"+d.Net) {
			out = append(out, table+" table holds chains BT"+d.Net)
		}
	}
	for _, p := range []string{d.DataRoot, d.ExecRoot, d.Sock, d.Pidfile} {
		if _, err := os.Lstat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func TestRefusedStartLeavesNothing(t *testing.T) {
	for _, c := range []struct {
		name   string
		config map[string]any
		args   []string
		want   string
	}{
		{"plain-tcp", nil, []string{"-H", fmt.Sprintf("tcp://0.0.0.0:%d", freeHostPort(t))}, "refusing to serve the API without TLS"},
		{"bip-loopback", map[string]any{"bip": "127.0.0.1/8"}, nil, "loopback"},
		{"bip-link-local", map[string]any{"bip": "169.254.1.1/24"}, nil, "link-local"},
		{"pool-multicast", map[string]any{"default-address-pools": []map[string]any{{"base": "224.0.0.0/4", "size": 24}}}, nil, "multicast"},
		{"bad-log-opt", map[string]any{"log-opts": map[string]string{"max-file": "0"}}, nil, "max-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newStoppedDaemon(t)
			if c.config != nil {
				d.addConfig(t, c.config)
			}
			r := berthd(t, d, d.rootsArgs(append([]string{"-H", "unix://" + d.Sock, "--pidfile", d.Pidfile}, c.args...)...)...)
			if r.Exit == 0 || r.Exit == -1 || !strings.Contains(r.Stderr, c.want) {
				t.Fatalf("berthd: %s\nwant a refusal mentioning %q", r, c.want)
			}
			if tr := d.hostTraces(); len(tr) > 0 {
				t.Errorf("the refused start left on the host: %s", strings.Join(tr, ", "))
			}
		})
	}
}

func TestSecondDaemonRefusesLiveSocketAndPidfile(t *testing.T) {
	a := newStoppedDaemon(t)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	b := newStoppedDaemon(t)
	// Same socket, everything else its own.
	r := berthd(t, b, b.rootsArgs("-H", "unix://"+a.Sock, "--pidfile", b.Pidfile)...)
	if r.Exit == 0 || r.Exit == -1 || !strings.Contains(r.Stderr, "already answering on "+a.Sock) {
		t.Errorf("second berthd on a live socket: %s\nwant a refusal naming the socket", r)
	}
	// Same pid file.
	r = berthd(t, b, b.rootsArgs("-H", "unix://"+b.Sock, "--pidfile", a.Pidfile)...)
	if r.Exit == 0 || r.Exit == -1 || !strings.Contains(r.Stderr, "names a running berthd") {
		t.Errorf("second berthd on a live daemon's pid file: %s\nwant a refusal", r)
	}
	if tr := b.hostTraces(); len(tr) > 0 {
		t.Errorf("the refused starts left on the host: %s", strings.Join(tr, ", "))
	}
	if pid, err := os.ReadFile(a.Pidfile); err != nil || strings.TrimSpace(string(pid)) != fmt.Sprint(a.Pid()) {
		t.Errorf("the first daemon's pid file: %q, %v; want %d", pid, err, a.Pid())
	}
	if err := a.waitPing(5 * time.Second); err != nil {
		t.Fatalf("the first daemon no longer answers: %v", err)
	}
	// A crash leaves the socket file with nothing behind it: a new start
	// replaces it.
	a.Kill()
	if _, err := os.Lstat(a.Sock); err != nil {
		t.Fatalf("after SIGKILL the socket file should remain: %v", err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("start over a stale socket: %v", err)
	}
}
