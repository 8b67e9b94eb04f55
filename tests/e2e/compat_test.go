package e2e

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostGateway: "host-gateway" in --add-host becomes the default bridge's
// gateway in /etc/hosts; daemon.json host-gateway-ip overrides it and a bad
// value stops berthd with an error naming the key.
func TestHostGateway(t *testing.T) {
	d := sharedDaemon(t, "compat")
	dk := d.Docker(t)
	var nets []struct {
		IPAM struct{ Config []struct{ Gateway string } }
	}
	if err := json.Unmarshal([]byte(dk.Must(t, "network", "inspect", "bridge")), &nets); err != nil || len(nets) != 1 || len(nets[0].IPAM.Config) == 0 {
		t.Fatalf("network inspect bridge: %v %+v", err, nets)
	}
	gw := nets[0].IPAM.Config[0].Gateway
	out := dk.Must(t, "run", "--rm", "--add-host", "host.docker.internal:host-gateway", "busybox", "grep", "host.docker.internal", "/etc/hosts")
	if f := strings.Fields(out); len(f) != 2 || f[0] != gw {
		t.Errorf("/etc/hosts line %q, want %s\thost.docker.internal", out, gw)
	}
	if r := dk.Run(t, "run", "--rm", "--add-host", "x:not-an-ip", "busybox", "true"); r.Exit == 0 {
		t.Errorf("--add-host x:not-an-ip accepted: %s", r)
	}
	// A bad address in the API request (bypassing the CLI's own check) is a 400.
	if code, _, body := d.API(t, "POST", "/containers/create", "application/json",
		`{"Image":"busybox","Cmd":["true"],"HostConfig":{"ExtraHosts":["x:nope"]}}`); code != http.StatusBadRequest {
		t.Errorf("create with ExtraHosts x:nope: %d %s, want 400", code, body)
	}

	d2 := newStoppedDaemon(t)
	d2.addConfig(t, map[string]any{"host-gateway-ip": "not-an-ip"})
	out2, err := exec.Command(filepath.Join(binDir, "berthd"), "--validate", "--config-file", d2.Config).CombinedOutput()
	if err == nil || !strings.Contains(string(out2), "host-gateway-ip") {
		t.Errorf("berthd --validate with host-gateway-ip not-an-ip: %v %s", err, out2)
	}
	d2.addConfig(t, map[string]any{"host-gateway-ip": "192.0.2.7"})
	if err := d2.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d2.importBusybox(); err != nil {
		t.Fatal(err)
	}
	out = d2.Docker(t).Must(t, "run", "--rm", "--add-host", "hg:host-gateway", "busybox", "grep", "hg", "/etc/hosts")
	if f := strings.Fields(out); len(f) != 2 || f[0] != "192.0.2.7" {
		t.Errorf("with host-gateway-ip: /etc/hosts line %q, want 192.0.2.7\thg", out)
	}
}

// TestUnknownNetworkAtCreate: the docker CLI must say the network is not
// found, not go pulling the image (which it does on a 404 from create).
func TestUnknownNetworkAtCreate(t *testing.T) {
	d := sharedDaemon(t, "compat")
	r := d.Docker(t).Run(t, "run", "--rm", "--network", "nosuchnet", "busybox", "true")
	if r.Exit != 125 || !strings.Contains(r.Stderr, "network nosuchnet not found") || strings.Contains(r.Stderr, "Unable to find image") || strings.Contains(r.Stderr, "pull") {
		t.Errorf("run --network nosuchnet: %s", r)
	}
	if out := d.Docker(t).Must(t, "ps", "-aq", "--filter", "status=created"); out != "" {
		t.Errorf("a container was left behind: %q", out)
	}
}

// TestSwarmAndPluginEndpoints: dockerd's answers on a node outside any swarm
// and with no plugins, through the docker CLI.
func TestSwarmAndPluginEndpoints(t *testing.T) {
	d := sharedDaemon(t, "compat")
	dk := d.Docker(t)
	if out := dk.Must(t, "plugin", "ls", "-q"); out != "" {
		t.Errorf("plugin ls: %q", out)
	}
	if r := dk.Run(t, "plugin", "inspect", "nosuch"); r.Exit == 0 || !strings.Contains(r.Stderr, "not found") {
		t.Errorf("plugin inspect nosuch: %s", r)
	}
	for _, args := range [][]string{{"service", "ls"}, {"node", "ls"}, {"secret", "ls"}, {"config", "ls"}, {"stack", "ls"}} {
		r := dk.Run(t, args...)
		if r.Exit == 0 || !strings.Contains(r.Stderr, "This node is not a swarm manager") {
			t.Errorf("docker %s: %s", strings.Join(args, " "), r)
		}
	}
	for _, p := range []string{"/swarm", "/services", "/tasks/x", "/nodes/y", "/secrets", "/configs/z"} {
		code, _, body := d.API(t, "GET", "/v1.47"+p, "", "")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, `This node is not a swarm manager. Use \"docker swarm init\"`) {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	if code, _, body := d.API(t, "POST", "/swarm/leave", "", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "This node is not part of a swarm") {
		t.Errorf("POST /swarm/leave: %d %s", code, body)
	}
	if code, _, body := d.API(t, "GET", "/plugins", "", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("GET /plugins: %d %s", code, body)
	}
}

// TestInfoAndImageInspectShape: the keys API 1.47 sends as null are there
// (docker-py indexes them), /info has a stable engine ID, swarm inactive and
// plugin lists.
func TestInfoAndImageInspectShape(t *testing.T) {
	d := sharedDaemon(t, "compat")
	_, _, body := d.API(t, "GET", "/v1.47/images/busybox/json", "", "")
	var img map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &img); err != nil {
		t.Fatalf("image inspect: %v %s", err, body)
	}
	for _, k := range []string{"Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "DockerVersion", "Author", "Config", "Architecture", "Os", "Size", "GraphDriver", "RootFS", "Metadata"} {
		if _, ok := img[k]; !ok {
			t.Errorf("image inspect lacks %q", k)
		}
	}
	if _, ok := img["ContainerConfig"]; ok {
		t.Errorf("API 1.47 image inspect has ContainerConfig (dropped in 1.45)")
	}
	var cfg map[string]json.RawMessage
	json.Unmarshal(img["Config"], &cfg)
	for _, k := range []string{"Env", "Cmd", "Entrypoint", "Volumes", "WorkingDir", "Labels", "OnBuild", "User", "Image"} {
		if _, ok := cfg[k]; !ok {
			t.Errorf("image inspect Config lacks %q: %s", k, img["Config"])
		}
	}
	_, _, old := d.API(t, "GET", "/v1.43/images/busybox/json", "", "")
	if !strings.Contains(old, `"ContainerConfig":{`) || !strings.Contains(old, `"Container":""`) {
		t.Errorf("API 1.43 image inspect lacks Container/ContainerConfig: %s", old)
	}

	info := func() map[string]any {
		_, _, b := d.API(t, "GET", "/v1.47/info", "", "")
		var m map[string]any
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := info()
	id, _ := m["ID"].(string)
	if len(id) != 36 || id == m["Name"] {
		t.Errorf("info ID %q: want a generated UUID, not the hostname", id)
	}
	if sw, _ := m["Swarm"].(map[string]any); sw["LocalNodeState"] != "inactive" {
		t.Errorf("Swarm.LocalNodeState: %v", m["Swarm"])
	}
	pl, _ := m["Plugins"].(map[string]any)
	for _, k := range []string{"Volume", "Network", "Authorization", "Log"} {
		if _, ok := pl[k].([]any); !ok {
			t.Errorf("Plugins.%s is %v, want a list", k, pl[k])
		}
	}
	if out := d.Docker(t).Must(t, "info", "--format", "{{.ID}}"); out != id {
		t.Errorf("docker info ID %q, want %q", out, id)
	}
}
