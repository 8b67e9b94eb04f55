package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/tests/internal/daemontest"
)

// crictlPath is crictl v1.37.0, built by scripts/build-tools.sh.
var crictlPath string

// criTool finds a cri-tools binary (scripts/build-tools.sh builds them
// into /root/.cache/berth) or skips t.
func criTool(t *testing.T, name string) string {
	t.Helper()
	for _, c := range []string{os.Getenv("BERTH_" + strings.ToUpper(name)), "/root/.cache/berth/" + name + "-v1.37.0"} {
		if c == "" {
			continue
		}
		if fi, err := os.Stat(c); err == nil && fi.Mode()&0o111 != 0 {
			return c
		}
	}
	t.Skipf("%s not built (scripts/build-tools.sh builds it into /root/.cache/berth)", name)
	return ""
}

func (d *Daemon) criSocket() string { return filepath.Join(d.ExecRoot, "cri.sock") }

func (d *Daemon) crictlEnv() []string {
	ep := "unix://" + d.criSocket()
	return append(cleanEnv(), "HOME="+d.Home, "CONTAINER_RUNTIME_ENDPOINT="+ep, "IMAGE_SERVICE_ENDPOINT="+ep)
}

// Crictl is crictl bound to d's CRI socket.
func (d *Daemon) Crictl(t *testing.T) CLI {
	crictlPath = criTool(t, "crictl")
	return CLI{Name: "crictl", d: d}
}

// startCRIDaemon starts a private berthd whose CRI uses a CNI config of
// the test's own: a bridge named after the daemon on a free subnet.
func startCRIDaemon(t *testing.T, extra map[string]any) *Daemon {
	t.Helper()
	requireEnv(t)
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap"} {
		if _, err := os.Stat(filepath.Join("/usr/lib/cni", p)); err != nil {
			t.Skipf("CNI plugin %s missing (apt-get install containernetworking-plugins)", p)
		}
	}
	d := newStoppedDaemon(t)
	sub, gw, err := daemontest.FreeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	confDir := filepath.Join(d.Root, "cni")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bridge := "bc" + d.Net
	conf := fmt.Sprintf(`{"cniVersion":"1.0.0","name":"pods-%s","plugins":[
		{"type":"bridge","bridge":%q,"isGateway":true,"ipMasq":false,"ipam":{"type":"host-local","ranges":[[{"subnet":%q,"gateway":%q}]],"dataDir":%q}},
		{"type":"portmap","capabilities":{"portMappings":true}}]}`, d.Net, bridge, sub.String(), gw.String(), filepath.Join(d.Root, "ipam"))
	if err := os.WriteFile(filepath.Join(confDir, "10-pods.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", bridge).Run() })
	var cfg map[string]any
	b, _ := os.ReadFile(d.Config)
	json.Unmarshal(b, &cfg)
	cri := map[string]any{"cni-conf-dir": confDir, "cni-bin-dirs": []string{"/usr/lib/cni"}}
	for k, v := range extra {
		cri[k] = v
	}
	cfg["cri"] = cri
	b, _ = json.Marshal(cfg)
	if err := os.WriteFile(d.Config, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	// Pods left by a failed test go before the harness's leak check.
	t.Cleanup(func() {
		if d.Running() {
			if r := d.Crictl(t).Run(t, "rmp", "-a", "-f"); r.Exit != 0 {
				t.Errorf("removing the pods left: %s", r)
			}
		}
	})
	return d
}

func writeJSON(t *testing.T, path string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCRICrictlWorkflow drives a pod through crictl as a kubelet user
// would: runp, create, start, exec (plain and -it through the streaming
// server), logs -f, port-forward, stats, a SIGKILL of berthd that the pod
// survives, stopp and rmp; and the same store and containers show through
// the Docker API.
func TestCRICrictlWorkflow(t *testing.T) {
	d := startCRIDaemon(t, nil)
	cc := d.Crictl(t)
	dc := d.Docker(t)

	// One image store: busybox, imported through the Docker API, is there.
	if out := cc.Must(t, "images"); !strings.Contains(out, "busybox") {
		t.Fatalf("crictl images does not list busybox:\n%s", out)
	}
	info := cc.Must(t, "info")
	if !strings.Contains(info, `"NetworkReady"`) {
		t.Fatalf("crictl info: %s", info)
	}

	logDir := filepath.Join(d.Root, "pod-logs")
	pod := writeJSON(t, filepath.Join(d.Root, "pod.json"), map[string]any{
		"metadata":      map[string]any{"name": "web", "namespace": "default", "uid": "uid-web-1", "attempt": 0},
		"hostname":      "webpod",
		"log_directory": logDir,
		"labels":        map[string]string{"app": "web"},
		"linux":         map[string]any{},
	})
	podID := cc.Must(t, "runp", pod)
	t.Cleanup(func() { cc.Run(t, "stopp", podID); cc.Run(t, "rmp", "-f", podID) })
	if out := cc.Must(t, "pods", "--label", "app=web", "-q"); out != podID {
		t.Fatalf("crictl pods --label app=web: %q, want %q", out, podID)
	}
	var ps struct {
		Status struct {
			State   string
			Network struct{ IP string }
		}
	}
	if err := json.Unmarshal([]byte(cc.Must(t, "inspectp", podID)), &ps); err != nil {
		t.Fatal(err)
	}
	if ps.Status.State != "SANDBOX_READY" || net.ParseIP(ps.Status.Network.IP) == nil {
		t.Fatalf("pod status: %+v", ps.Status)
	}

	ctrCfg := writeJSON(t, filepath.Join(d.Root, "ctr.json"), map[string]any{
		"metadata": map[string]any{"name": "main"},
		"image":    map[string]any{"image": "busybox"},
		"command":  []string{"sh", "-c", "echo hello-cri; mkdir -p /www; echo pong > /www/index.html; httpd -p 8080 -h /www; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"},
		"log_path": "main.log",
		"linux":    map[string]any{},
	})
	ctrID := cc.Must(t, "create", podID, ctrCfg, pod)
	cc.Must(t, "start", ctrID)
	eventually(t, 10*time.Second, func() error {
		if out := cc.Run(t, "ps", "-q", "--state", "running").Out(); !strings.Contains(out, ctrID) {
			return fmt.Errorf("not running yet: %q", out)
		}
		return nil
	})

	// The pod's namespaces: its hostname and its own address.
	if out := cc.Must(t, "exec", ctrID, "hostname"); out != "webpod" {
		t.Fatalf("hostname in the pod: %q", out)
	}
	if out := cc.Must(t, "exec", ctrID, "ip", "addr", "show", "eth0"); !strings.Contains(out, ps.Status.Network.IP) {
		t.Fatalf("eth0 does not have the pod IP %s:\n%s", ps.Status.Network.IP, out)
	}
	if r := cc.Run(t, "exec", ctrID, "sh", "-c", "exit 3"); r.Exit == 0 {
		t.Fatalf("a failing exec reported success: %s", r)
	}

	// exec -it through the streaming server, on a real terminal.
	p := cc.StartPty(t, "exec", "-it", ctrID, "sh")
	// One line: busybox's line editor may ask the terminal for the
	// cursor position after a prompt and swallow what is typed meanwhile.
	p.Write("echo $((6*7))x; exit\r")
	p.Expect("42x", 10*time.Second)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("crictl exec -it exit %d; output %q", code, p.Output())
	}

	// The log is in kubelet's CRI format where kubelet asked for it.
	eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(logDir, "main.log"))
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), " stdout F hello-cri\n") {
			return fmt.Errorf("log so far: %q", b)
		}
		return nil
	})
	follow := exec.Command(crictlPath, "logs", "-f", ctrID)
	follow.Env = d.crictlEnv()
	out, _ := follow.StdoutPipe()
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := out.Read(buf)
			sb.Write(buf[:n])
			if strings.Contains(sb.String(), "tick 30\n") || err != nil {
				got <- sb.String()
				return
			}
		}
	}()
	select {
	case s := <-got:
		if !strings.Contains(s, "hello-cri") || !strings.Contains(s, "tick 30") {
			t.Fatalf("logs -f: %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("logs -f did not follow the container's output")
	}
	follow.Process.Kill()
	follow.Wait()

	// port-forward: a loopback port reaches the pod's httpd.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	pf := exec.Command(crictlPath, "port-forward", podID, fmt.Sprintf("%d:8080", port))
	pf.Env = d.crictlEnv()
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { pf.Process.Kill(); pf.Wait() }()
	eventually(t, 15*time.Second, func() error {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.TrimSpace(string(b)) != "pong" {
			return fmt.Errorf("got %q", b)
		}
		return nil
	})

	// stats
	var st struct {
		Stats []struct {
			Attributes struct{ ID string }
			Memory     struct{ WorkingSetBytes struct{ Value string } }
		}
	}
	if err := json.Unmarshal([]byte(cc.Must(t, "stats", "-o", "json", "--id", ctrID)), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Stats) != 1 || st.Stats[0].Attributes.ID != ctrID || st.Stats[0].Memory.WorkingSetBytes.Value == "" {
		t.Fatalf("stats: %+v", st)
	}

	// The Docker API shows the pod's container under dockershim's name.
	if out := dc.Must(t, "ps", "--filter", "label=io.kubernetes.pod.name=web", "--format", "{{.Names}}"); out != "k8s_main_web_default_uid-web-1_0" {
		t.Fatalf("docker ps: %q", out)
	}

	// docker logs reads the CRI-format log too.
	if out := dc.Must(t, "logs", "k8s_main_web_default_uid-web-1_0"); !strings.HasPrefix(out, "hello-cri\ntick 0\n") {
		t.Fatalf("docker logs: %.200q", out)
	}

	// A crash of berthd: the pod and its container live on.
	d.Kill()
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if out := cc.Must(t, "pods", "-q", "--state", "ready"); out != podID {
		t.Fatalf("after SIGKILL of berthd, ready pods: %q", out)
	}
	if out := cc.Must(t, "exec", ctrID, "cat", "/www/index.html"); out != "pong" {
		t.Fatalf("after SIGKILL of berthd, exec: %q", out)
	}

	cc.Must(t, "stopp", podID)
	if out := cc.Must(t, "ps", "-a", "-q", "--state", "exited"); !strings.Contains(out, ctrID) {
		t.Fatalf("after stopp the container is not exited: %q", out)
	}
	cc.Must(t, "rmp", podID)
	if out := cc.Must(t, "pods", "-q"); out != "" {
		t.Fatalf("pods after rmp: %q", out)
	}
	if out := dc.Must(t, "ps", "-aq"); out != "" {
		t.Fatalf("containers after rmp: %q", out)
	}
	if ents, _ := os.ReadDir(filepath.Join(d.ExecRoot, "cri", "sandboxes")); len(ents) != 0 {
		t.Fatalf("sandbox state left after rmp: %v", ents)
	}
}
