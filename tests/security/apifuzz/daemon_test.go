package apifuzz

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/tests/internal/daemontest"
)

// daemon is one private berthd: its own roots under a short /tmp
// directory, its own bridge, netfilter chains and subnet, so it runs beside
// the system berthd and other tests (started with tests/internal/daemontest,
// as tests/e2e's are).
type daemon struct {
	root, sock, logPath string
	bridge, chains      string
	proc                *daemontest.Proc
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

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	root, err := os.MkdirTemp("/tmp", "bf-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	repo, err := daemontest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := daemontest.MakeBuild(repo, bin, "berthd", "berth-monitor"); err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("%d", os.Getpid()%100000)
	d := &daemon{
		root: root, sock: filepath.Join(root, "s.sock"), logPath: filepath.Join(root, "berthd.log"),
		bridge: "bf" + tag, chains: "BF" + tag,
	}
	t.Cleanup(func() { d.close(t) })
	sub, gw, err := daemontest.FreeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`{"bridge":%q,"iptables-chain-prefix":%q,"bip":"%s/%d","api-limits":{"body-timeout":"2s"}}`,
		d.bridge, d.chains, gw, sub.Bits())
	cfgPath := filepath.Join(root, "daemon.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d.proc, err = daemontest.Berthd{
		Bin: filepath.Join(bin, "berthd"), Sock: d.sock,
		DataRoot: filepath.Join(root, "data"), ExecRoot: filepath.Join(root, "exec"),
		Pidfile: filepath.Join(root, "berthd.pid"), Config: cfgPath, LogPath: d.logPath,
		Env: append(os.Environ(), "HOME="+root),
	}.Start(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *daemon) client(timeout time.Duration) *http.Client {
	return daemontest.UnixClient(d.sock, timeout)
}

func (d *daemon) ping() error { return daemontest.Ping(d.client(5 * time.Second)) }

func (d *daemon) running() bool { return d.proc != nil && d.proc.Running() }

func (d *daemon) rssKB() int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.proc.Cmd.Process.Pid))
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

func (d *daemon) logTail() string { return daemontest.LogTail(d.logPath, 40) }

// close removes every container, stops berthd and removes its network and
// roots.
func (d *daemon) close(t *testing.T) {
	if d.running() {
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
		// The fuzzer creates networks (POST /networks/create); berthd keeps
		// their bridges when it stops, as dockerd does.
		for _, f := range daemontest.RemoveUserNetworks(c) {
			t.Errorf("removing the fuzzer's networks: %s", f)
		}
		d.proc.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.proc.Done:
		case <-time.After(20 * time.Second):
			t.Errorf("berthd did not exit within 20 s of SIGTERM")
			d.proc.Cmd.Process.Kill()
			<-d.proc.Done
		}
	}
	if t.Failed() {
		t.Logf("berthd log (%s), last lines:\n%s", d.logPath, d.logTail())
	}
	for _, br := range daemontest.RemoveUserBridges(filepath.Join(d.root, "data", "berth.db"), d.bridge) {
		t.Errorf("bridge of a removed network left on the host: %s", br)
	}
	daemontest.RemoveNetwork(d.bridge, d.chains)
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
