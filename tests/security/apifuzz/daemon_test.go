package apifuzz

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// daemon is one private berthd: its own roots under a short /tmp
// directory, its own bridge, netfilter chains and subnet, so it runs beside
// the system berthd and other tests. It is a small copy of tests/e2e's
// harness (that one lives in an _test package and cannot be imported).
type daemon struct {
	root, sock, dataRoot, execRoot, logPath string
	bridge, chains                          string
	cmd                                     *exec.Cmd
	done                                    chan struct{}
}

func skipUnlessRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the API fuzzer runs a real berthd and needs root (sudo scripts/test.sh)")
	}
	if _, err := exec.LookPath("crun"); err != nil {
		if _, err := exec.LookPath("runc"); err != nil {
			t.Skip("no OCI runtime (crun or runc) in PATH")
		}
	}
}

// buildBinaries builds berthd and berth-monitor from this tree into dir.
func buildBinaries(t *testing.T, dir string) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	repo := filepath.Dir(strings.TrimSpace(string(out)))
	cmd := exec.Command("go", "build", "-trimpath", "-o", dir+"/", "./cmd/berthd", "./cmd/berth-monitor")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// freeSubnet picks a 10.x.y.0/24 that no route on the host covers.
func freeSubnet(t *testing.T, rng *rand.Rand) string {
	out, _ := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	routes := string(out)
	for i := 0; i < 200; i++ {
		x, y := 160+rng.Intn(40), rng.Intn(250)
		prefix := fmt.Sprintf("10.%d.%d.", x, y)
		if !strings.Contains(routes, prefix) && !strings.Contains(routes, fmt.Sprintf("10.%d.0.0/16", x)) {
			return prefix + "1/24"
		}
	}
	t.Fatal("no free 10.x.y.0/24 subnet")
	return ""
}

func startDaemon(t *testing.T, rng *rand.Rand) *daemon {
	t.Helper()
	root, err := os.MkdirTemp("/tmp", "bf-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	buildBinaries(t, bin)
	tag := fmt.Sprintf("%d", os.Getpid()%100000)
	d := &daemon{
		root: root, sock: filepath.Join(root, "s.sock"),
		dataRoot: filepath.Join(root, "data"), execRoot: filepath.Join(root, "exec"),
		logPath: filepath.Join(root, "berthd.log"),
		bridge:  "bf" + tag, chains: "BF" + tag,
	}
	t.Cleanup(func() { d.close(t) })
	cfg := fmt.Sprintf(`{"bridge":%q,"iptables-chain-prefix":%q,"bip":%q,"api-limits":{"body-timeout":"2s"}}`,
		d.bridge, d.chains, freeSubnet(t, rng))
	cfgPath := filepath.Join(root, "daemon.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command(filepath.Join(bin, "berthd"), "-H", "unix://"+d.sock, "--data-root", d.dataRoot,
		"--exec-root", d.execRoot, "--pidfile", filepath.Join(root, "berthd.pid"), "--config-file", cfgPath)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d.cmd.Env = append(os.Environ(), "HOME="+root)
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func() { d.cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for d.ping() != nil {
		if time.Now().After(deadline) || !d.running() {
			t.Fatalf("berthd did not answer /_ping:\n%s", d.logTail())
		}
		time.Sleep(20 * time.Millisecond) // polling for start-up, with a deadline
	}
	return d
}

func (d *daemon) client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.sock)
		},
		DisableKeepAlives: true,
	}}
}

func (d *daemon) ping() error {
	resp, err := d.client(5 * time.Second).Get("http://berth/_ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("/_ping: HTTP %d", resp.StatusCode)
	}
	return nil
}

func (d *daemon) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

func (d *daemon) rssKB() int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var n int
			fmt.Sscan(rest, &n)
			return n
		}
	}
	return 0
}

func (d *daemon) logTail() string {
	data, _ := os.ReadFile(d.logPath)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// close removes every container, stops berthd and removes its network and
// roots.
func (d *daemon) close(t *testing.T) {
	if d.cmd != nil && d.running() {
		c := d.client(20 * time.Second)
		if resp, err := c.Get("http://berth/containers/json?all=1"); err == nil {
			var list []struct{ Id string }
			decodeBody(resp, &list)
			for _, ct := range list {
				req, _ := http.NewRequest("DELETE", "http://berth/containers/"+ct.Id+"?force=1&v=1", nil)
				if r, err := c.Do(req); err == nil {
					r.Body.Close()
				}
			}
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			t.Errorf("berthd did not exit within 20 s of SIGTERM")
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	if t.Failed() {
		t.Logf("berthd log (%s), last lines:\n%s", d.logPath, d.logTail())
	}
	exec.Command("ip", "link", "del", d.bridge).Run()
	for _, table := range []string{"filter", "nat", "raw", "mangle"} {
		out, _ := exec.Command("iptables", "-t", table, "-S").Output()
		var chains []string
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			ours := func(n string) bool { return n == d.chains || strings.HasPrefix(n, d.chains+"-") }
			if f[0] == "-N" && ours(f[1]) {
				chains = append(chains, f[1])
			}
			if f[0] == "-A" && !ours(f[1]) {
				for i := 2; i+1 < len(f); i++ {
					if f[i] == "-j" && ours(f[i+1]) {
						exec.Command("iptables", append([]string{"-t", table, "-D"}, f[1:]...)...).Run()
					}
				}
			}
		}
		for _, c := range chains {
			exec.Command("iptables", "-t", table, "-F", c).Run()
		}
		for _, c := range chains {
			exec.Command("iptables", "-t", table, "-X", c).Run()
		}
	}
	// Unmount anything left below the root before removing it.
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		var mps []string
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && strings.HasPrefix(f[4], d.root+"/") {
				mps = append(mps, f[4])
			}
		}
		for i := len(mps) - 1; i >= 0; i-- {
			t.Errorf("mount left below the daemon's root: %s", mps[i])
			syscall.Unmount(mps[i], syscall.MNT_DETACH)
		}
	}
	if err := os.RemoveAll(d.root); err != nil {
		t.Errorf("removing %s: %v", d.root, err)
	}
}
