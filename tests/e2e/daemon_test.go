package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/tests/internal/daemontest"
)

// daemonSeq numbers daemons for their private network settings.
var daemonSeq atomic.Int32

// Daemon is one berthd running on private roots under a short /tmp/b-XXXX
// directory (unix socket paths are limited to 108 bytes, t.TempDir() paths
// are too long for that).
type Daemon struct {
	Root     string // everything below lives here
	Sock     string
	DataRoot string
	ExecRoot string
	Pidfile  string
	LogPath  string
	Home     string // HOME and DOCKER_CONFIG for the CLIs
	// Config is the daemon.json: each daemon gets its own bridge, netfilter
	// chains and subnet, so daemons running side by side (and a berthd the
	// user runs) never touch each other's network.
	Config string
	// Seq numbers the daemon within this test run; Net names its bridge
	// ("bt"+Net) and netfilter chains ("BT"+Net).
	Seq int
	Net string
	// Env is added to berthd's environment (test hooks).
	Env []string

	ids  []string // containers known at Close, for cleanup by force
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Every root any daemon ever used and every container ID it ever had, for
// the leak checks after the whole run.
var (
	trackMu      sync.Mutex
	trackedRoots []string
	trackedIDs   = map[string]bool{}
)

// startDaemon starts a private berthd with the busybox image imported and
// stops it, checks it leaked nothing and removes its roots when t ends.
func startDaemon(t *testing.T) *Daemon {
	t.Helper()
	d := newStoppedDaemon(t)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	return d
}

var (
	sharedMu      sync.Mutex
	sharedDaemons = map[string]*Daemon{}
	sharedErrs    = map[string]error{}
)

// sharedDaemon returns the daemon shared by all tests using key (one per
// test file, for tests that do not interfere), starting it on first use. It
// is stopped and checked for leaks after all tests ran.
func sharedDaemon(t *testing.T, key string) *Daemon {
	t.Helper()
	requireEnv(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if err := sharedErrs[key]; err != nil {
		t.Fatalf("shared daemon %q failed to start earlier: %v", key, err)
	}
	if d := sharedDaemons[key]; d != nil {
		if !d.Running() {
			t.Fatalf("shared daemon %q is no longer running; log:\n%s", key, d.LogTail(40))
		}
		return d
	}
	d, err := newDaemon()
	if err == nil {
		err = d.Start()
		if err == nil {
			err = d.importBusybox()
		}
		sharedDaemons[key] = d
	}
	if err != nil {
		sharedErrs[key] = err
		t.Fatal(err)
	}
	return d
}

func closeSharedDaemons() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for key, d := range sharedDaemons {
		for _, l := range d.Close() {
			fmt.Fprintf(os.Stderr, "e2e: FAIL: shared daemon %q leaked: %s\n", key, l)
			markFailed()
		}
	}
}

var failedAfterRun bool

func markFailed() { failedAfterRun = true }

func newDaemon() (*Daemon, error) {
	root, err := os.MkdirTemp("/tmp", "b-")
	if err != nil {
		return nil, err
	}
	d := &Daemon{
		Root:     root,
		Sock:     filepath.Join(root, "s.sock"),
		DataRoot: filepath.Join(root, "data"),
		ExecRoot: filepath.Join(root, "exec"),
		Pidfile:  filepath.Join(root, "berthd.pid"),
		LogPath:  filepath.Join(root, "berthd.log"),
		Home:     filepath.Join(root, "home"),
	}
	if err := os.MkdirAll(d.Home, 0o700); err != nil {
		return nil, err
	}
	d.Seq = int(daemonSeq.Add(1))
	d.Config = filepath.Join(root, "daemon.json")
	// Names and subnets carry the test process's pid too, so two test
	// binaries running at once (go test -p, several developers' runs) differ.
	d.Net = fmt.Sprintf("%s%d", runNetPrefix(), d.Seq)
	sub, gw, err := daemontest.FreeSubnet()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`{"bridge":"bt%s","iptables-chain-prefix":"BT%s","bip":"%s/%d"}`,
		d.Net, d.Net, gw, sub.Bits())
	if err := os.WriteFile(d.Config, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	trackMu.Lock()
	trackedRoots = append(trackedRoots, root)
	trackMu.Unlock()
	return d, nil
}

// Start runs berthd on d's roots (again, after Kill or Stop) and waits until
// it answers /_ping.
func (d *Daemon) Start() error {
	return d.startArgs(append([]string{"-H", "unix://" + d.Sock}, append(d.baseArgs(), "-D")...)...)
}

// waitPing waits (up to limit) until berthd answers /_ping.
func (d *Daemon) waitPing(limit time.Duration) error {
	return daemontest.WaitPing(d.Sock, d.done, limit, d.LogPath)
}

// Running reports whether berthd's process is still alive.
func (d *Daemon) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// Pid is berthd's process ID (0 when not running).
func (d *Daemon) Pid() int {
	if !d.Running() {
		return 0
	}
	return d.cmd.Process.Pid
}

// Kill sends SIGKILL to berthd and waits for it to die: a crash.
func (d *Daemon) Kill() {
	if !d.Running() {
		return
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// Stop sends SIGTERM, then SIGKILL after 15 s; it returns whether berthd
// stopped on SIGTERM.
func (d *Daemon) Stop() bool {
	if !d.Running() {
		return true
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return true
	case <-time.After(15 * time.Second):
		d.Kill()
		return false
	}
}

func (d *Daemon) importBusybox() error {
	f, err := os.Open(busyboxTar)
	if err != nil {
		return err
	}
	defer f.Close()
	// The starter image's CMD is sh, as in the official busybox image.
	r := d.runCmd(filepath.Join(binDir, "berth"), d.berthEnv(), f, 60*time.Second,
		"import", "--change", `CMD ["sh"]`, "-", "busybox:latest")
	if r.Exit != 0 {
		return fmt.Errorf("importing the busybox image failed: %s", r)
	}
	return nil
}

// HTTPClient talks to d's socket; use URLs like http://berth/v1.47/info.
func (d *Daemon) HTTPClient() *http.Client { return daemontest.UnixClient(d.Sock, 30*time.Second) }

// API does one request and returns status, headers and body.
func (d *Daemon) API(tb testing.TB, method, path, contentType, body string) (int, http.Header, string) {
	tb.Helper()
	req, err := http.NewRequest(method, "http://berth"+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := d.HTTPClient().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, sb.String()
}

// containerIDs lists every container the daemon knows, via the API.
func (d *Daemon) containerIDs() ([]string, error) {
	resp, err := d.HTTPClient().Get("http://berth/containers/json?all=1")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET /containers/json: HTTP %d", resp.StatusCode)
	}
	var list []struct{ Id string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(list))
	for _, c := range list {
		ids = append(ids, c.Id)
	}
	return ids, nil
}

// LogTail returns the last n lines of berthd's log.
func (d *Daemon) LogTail(n int) string { return daemontest.LogTail(d.LogPath, n) }

// Close removes every container through the API, stops berthd, reports
// what it left behind (mounts, processes, runtime state), then cleans that
// up by force and removes the roots. It returns the leaks found.
func (d *Daemon) Close() []string {
	var leaks []string
	running := d.Running()
	if running {
		ids, err := d.containerIDs()
		if err != nil {
			leaks = append(leaks, fmt.Sprintf("listing containers before shutdown: %v", err))
		}
		d.ids = ids
		trackMu.Lock()
		for _, id := range ids {
			trackedIDs[id] = true
		}
		trackMu.Unlock()
		client := d.HTTPClient()
		client.Timeout = 20 * time.Second
		for _, id := range ids {
			if err := daemontest.Delete(client, "/containers/"+id+"?force=1&v=1"); err != nil {
				leaks = append(leaks, err.Error())
			}
		}
		leaks = append(leaks, daemontest.RemoveUserNetworks(client)...)
		if !d.Stop() {
			leaks = append(leaks, "berthd did not exit within 15 s of SIGTERM")
		}
	}
	leaks = append(leaks, d.leaks()...)
	leaks = append(leaks, d.netLeaks()...)
	leaks = append(leaks, d.userBridgeLeaks(running)...)
	d.forceCleanup()
	d.removeNetwork()
	if err := os.RemoveAll(d.Root); err != nil {
		leaks = append(leaks, fmt.Sprintf("removing %s: %v", d.Root, err))
	}
	return leaks
}

// netLeaks lists veths still attached to the daemon's bridge once all its
// containers are gone (the bridge and chains themselves stay, as docker0
// and Docker's chains do; removeNetwork takes them away after the test).
func (d *Daemon) netLeaks() []string {
	var out []string
	links, _ := os.ReadDir("/sys/class/net/bt" + d.Net + "/brif")
	for _, l := range links {
		out = append(out, "veth left on the bridge: "+l.Name())
	}
	return out
}

// userBridgeLeaks takes away the bridges of the stopped daemon's user
// networks still on the host and lists them: they are leaks if Close
// removed the networks through the API first (removed is true); a daemon
// its test left stopped keeps them, as dockerd does.
func (d *Daemon) userBridgeLeaks(removed bool) []string {
	var out []string
	for _, br := range daemontest.RemoveUserBridges(filepath.Join(d.DataRoot, "berth.db"), "bt"+d.Net) {
		if removed {
			out = append(out, "bridge of a removed network left: "+br)
		}
	}
	return out
}

// removeNetwork deletes the daemon's bridge and netfilter chains so a test
// run leaves the host's network as it found it. Bridges of user networks
// the tests created carry the daemon's networks' IDs; they are removed with
// the networks by the tests.
func (d *Daemon) removeNetwork() { daemontest.RemoveNetwork("bt"+d.Net, "BT"+d.Net) }

// leaks lists what is left of d after all its containers were removed and
// berthd stopped: mounts under its root, processes using its root (monitors,
// container processes), runtime state files.
func (d *Daemon) leaks() []string {
	var out []string
	for _, m := range mountsUnder(d.Root) {
		out = append(out, "mount left: "+m)
	}
	for _, p := range processesUsing(d.Root) {
		out = append(out, "process left: "+p.String())
	}
	removed := map[string]bool{}
	for _, id := range d.ids {
		removed[id] = true
	}
	// Every container was removed: nothing named after one may remain (its
	// folder, snapshot, log, netns file, runtime state).
	filepath.WalkDir(d.Root, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if removed[e.Name()] {
			out = append(out, "left after the container was removed: "+path)
			if e.IsDir() {
				return filepath.SkipDir
			}
		}
		if !e.IsDir() && e.Name() == "state.json" && strings.HasPrefix(path, d.ExecRoot) {
			out = append(out, "runtime state left: "+path)
		}
		return nil
	})
	return out
}

func (d *Daemon) forceCleanup() {
	for _, p := range processesUsing(d.Root) {
		thawProcess(p.pid)
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
	// SIGKILL takes effect asynchronously: wait (bounded) until they are gone.
	for deadline := time.Now().Add(5 * time.Second); len(processesUsing(d.Root)) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	unmountUnder(d.Root)
	removeCgroups(d.ids)
}

// cleanEnv is the test's environment without anything that would point a
// CLI at another engine.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME", strings.HasPrefix(k, "DOCKER_"), strings.HasPrefix(k, "BERTH_"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

var errTimeout = errors.New("timed out")
