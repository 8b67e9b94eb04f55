package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"
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

// compressWith runs a compression tool over data (gzip, bzip2, xz, zstd).
func compressWith(t *testing.T, tool string, data []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed", tool)
	}
	cmd := exec.Command(tool, "-c")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return out
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

// TestCompressedArchives: PUT /containers/{id}/archive (testcontainers'
// CopyToContainer sends gzip), import and load take gzip, bzip2, xz and
// zstd, told by their magic bytes, as dockerd does.
func TestCompressedArchives(t *testing.T) {
	d := sharedDaemon(t, "compat")
	dk := d.Docker(t)
	name := uniq("cpgz")
	dk.Must(t, "create", "--name", name, "busybox", "true")
	defer dk.Run(t, "rm", "-f", name)
	tools := []string{"gzip", "bzip2", "xz", "zstd"}
	for _, tool := range tools {
		body := compressWith(t, tool, tarOf(t, map[string]string{"f-" + tool: "via " + tool}))
		code, _, resp := d.API(t, "PUT", "/v1.47/containers/"+name+"/archive?path=/tmp", "application/x-tar", string(body))
		if code != http.StatusOK {
			t.Errorf("PUT archive %s: %d %s", tool, code, resp)
		}
	}
	dst := t.TempDir()
	for _, tool := range tools {
		dk.Must(t, "cp", name+":/tmp/f-"+tool, dst)
		if b, err := os.ReadFile(filepath.Join(dst, "f-"+tool)); err != nil || string(b) != "via "+tool {
			t.Errorf("file copied in from a %s tar: %q %v", tool, b, err)
		}
	}
	// Garbage that claims to be gzip is a 400, not a 500.
	if code, _, resp := d.API(t, "PUT", "/v1.47/containers/"+name+"/archive?path=/tmp", "application/x-tar", "\x1f\x8bnot gzip at all"); code != http.StatusBadRequest {
		t.Errorf("PUT archive with a broken gzip header: %d %s", code, resp)
	}

	root := tarOf(t, map[string]string{"hello.txt": "imported"})
	for _, tool := range tools {
		f := filepath.Join(t.TempDir(), "root.tar."+tool)
		os.WriteFile(f, compressWith(t, tool, root), 0o644)
		ref := "imp-" + tool + ":" + uniq("v")
		dk.Must(t, "import", f, ref)
		if out := dk.Must(t, "run", "--rm", "-v", "/bin/busybox:/bin/busybox:ro", ref, "/bin/busybox", "cat", "/hello.txt"); out != "imported" {
			t.Errorf("import of a %s tar: got %q", tool, out)
		}
		dk.Must(t, "rmi", ref)
	}

	saved := filepath.Join(t.TempDir(), "busybox.tar")
	dk.Must(t, "save", "-o", saved, "busybox")
	raw, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(t.TempDir(), "busybox.tar.gz")
	os.WriteFile(gz, compressWith(t, "gzip", raw), 0o644)
	if out := dk.Must(t, "load", "-i", gz); !strings.Contains(out, "busybox") {
		t.Errorf("load of a gzip'd save: %q", out)
	}
}

type wireEvent struct {
	Status, ID, From string `json:",omitempty"`
	Type, Action     string
	Actor            struct {
		ID         string
		Attributes map[string]string
	}
}

// eventsBetween runs `docker events --since --until` with filters and
// decodes its JSON lines.
func eventsBetween(t *testing.T, dk CLI, since, until time.Time, filters ...string) []wireEvent {
	t.Helper()
	args := []string{"events", "--since", fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		"--until", fmt.Sprintf("%d.%09d", until.Unix(), until.Nanosecond()), "--format", "{{json .}}"}
	for _, f := range filters {
		args = append(args, "--filter", f)
	}
	out := dk.Must(t, args...)
	var evs []wireEvent
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		var e wireEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("event line %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

func hasEvent(evs []wireEvent, typ, action string) bool {
	for _, e := range evs {
		if e.Type == typ && (e.Action == action || strings.HasPrefix(e.Action, action+": ")) {
			return true
		}
	}
	return false
}

// TestEventsEmittedAndFiltered: network, volume, exec, container, image
// and daemon events appear as dockerd emits them, and docker events'
// --since/--until/--filter select them.
func TestEventsEmittedAndFiltered(t *testing.T) {
	d := sharedDaemon(t, "compat")
	dk := d.Docker(t)
	start := time.Now()
	net, vol, ctr, tag := uniq("evnet"), uniq("evvol"), uniq("evctr"), "evtag:"+uniq("t")
	dk.Must(t, "network", "create", net)
	dk.Must(t, "volume", "create", vol)
	dk.Must(t, "run", "-d", "--name", ctr, "--network", net, "-v", vol+":/data", "busybox", "sleep", "300")
	dk.Must(t, "exec", ctr, "true")
	dk.Must(t, "top", ctr)
	dk.Must(t, "update", "--cpu-shares", "512", ctr)
	dk.Must(t, "cp", ctr+":/etc/hostname", t.TempDir())
	dk.Must(t, "pause", ctr)
	dk.Must(t, "unpause", ctr)
	dk.Must(t, "rm", "-f", ctr)
	dk.Must(t, "network", "rm", net)
	dk.Must(t, "volume", "rm", vol)
	dk.Must(t, "tag", "busybox", tag)
	dk.Must(t, "rmi", tag)
	if err := syscall.Kill(d.Pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{"network", "create"}, {"network", "connect"}, {"network", "disconnect"}, {"network", "destroy"},
		{"volume", "create"}, {"volume", "mount"}, {"volume", "unmount"}, {"volume", "destroy"},
		{"container", "create"}, {"container", "start"}, {"container", "exec_create"}, {"container", "exec_start"},
		{"container", "exec_die"}, {"container", "top"}, {"container", "update"}, {"container", "archive-path"},
		{"container", "pause"}, {"container", "unpause"}, {"container", "kill"}, {"container", "die"}, {"container", "destroy"},
		{"image", "tag"}, {"image", "untag"}, {"daemon", "reload"},
	}
	var all []wireEvent
	eventually(t, 20*time.Second, func() error {
		all = eventsBetween(t, dk, start, time.Now())
		for _, w := range want {
			if !hasEvent(all, w[0], w[1]) {
				return fmt.Errorf("no %s %s event among %d", w[0], w[1], len(all))
			}
		}
		return nil
	})
	end := time.Now()
	for _, e := range all {
		if e.Type == "container" && e.Actor.ID != "" && (e.Status != e.Action || e.ID != e.Actor.ID || e.From != "busybox") {
			t.Errorf("container event without 1.47's status/id/from: %+v", e)
		}
		if e.Type == "container" && e.Action == "exec_die" && e.Actor.Attributes["exitCode"] != "0" {
			t.Errorf("exec_die without exitCode 0: %+v", e)
		}
		if e.Type == "network" && e.Action == "connect" && e.Actor.Attributes["name"] == net && e.Actor.Attributes["container"] == "" {
			t.Errorf("network connect without the container: %+v", e)
		}
	}

	for _, tc := range []struct {
		filters []string
		ok      func(e wireEvent) bool
	}{
		{[]string{"type=network"}, func(e wireEvent) bool { return e.Type == "network" }},
		{[]string{"volume=" + vol}, func(e wireEvent) bool { return e.Actor.ID == vol }},
		{[]string{"event=exec_start"}, func(e wireEvent) bool { return strings.HasPrefix(e.Action, "exec_start: ") }},
		{[]string{"container=" + ctr, "event=die"}, func(e wireEvent) bool { return e.Action == "die" && e.Actor.Attributes["name"] == ctr }},
		{[]string{"type=daemon", "event=reload"}, func(e wireEvent) bool { return e.Type == "daemon" && e.Action == "reload" }},
		{[]string{"image=" + tag, "type=image"}, func(e wireEvent) bool { return e.Type == "image" }},
	} {
		evs := eventsBetween(t, dk, start, end, tc.filters...)
		if len(evs) == 0 {
			t.Errorf("filter %v: no event", tc.filters)
		}
		for _, e := range evs {
			if !tc.ok(e) {
				t.Errorf("filter %v let through %+v", tc.filters, e)
			}
		}
	}
	// --until before anything happened: nothing.
	if evs := eventsBetween(t, dk, start.Add(-time.Hour), start.Add(-time.Minute)); len(evs) != 0 {
		t.Errorf("events before the test's start: %v", evs)
	}
	if r := dk.Run(t, "events", "--since", "1", "--until", "2", "--filter", "nosuch=x"); r.Exit == 0 || !strings.Contains(r.Stderr, "invalid filter 'nosuch'") {
		t.Errorf("unknown filter key: %s", r)
	}
	code, _, body := d.API(t, "GET", fmt.Sprintf("/v1.47/events?since=%d&until=%d", end.Unix(), start.Unix()-1), "", "")
	if code != http.StatusBadRequest {
		t.Errorf("since after until: %d %s", code, body)
	}
}

// TestOptionsAppliedOrRefused: create options Berth used to accept and
// ignore are now applied (--domainname, --cgroupns private, --cgroup-parent,
// resource knobs) or refused with dockerd's error (--platform mismatch,
// --gpus, --storage-opt, blkio).
func TestOptionsAppliedOrRefused(t *testing.T) {
	d := sharedDaemon(t, "compat")
	dk := d.Docker(t)

	other := "linux/arm64"
	if goruntime.GOARCH == "arm64" {
		other = "linux/amd64"
	}
	r := dk.Run(t, "create", "--pull", "never", "--platform", other, "busybox", "true")
	if r.Exit == 0 || !strings.Contains(r.Stderr, "image with reference busybox was found but does not match the specified platform: wanted "+other) {
		t.Errorf("create --platform %s: %s", other, r)
	}
	if code, _, body := d.API(t, "POST", "/v1.47/containers/create?platform="+url.QueryEscape(other), "application/json", `{"Image":"busybox","Cmd":["true"]}`); code != http.StatusNotFound || !strings.Contains(body, "does not match the specified platform") {
		t.Errorf("API create with platform %s: %d %s", other, code, body)
	}
	if out := dk.Must(t, "run", "--rm", "--platform", "linux/"+goruntime.GOARCH, "busybox", "echo", "ok"); out != "ok" {
		t.Errorf("run with the image's own platform: %q", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--gpus", "all"}, `could not select device driver "" with capabilities: [[gpu]]`},
		{[]string{"--storage-opt", "size=1G"}, "storage-opt"},
		{[]string{"--blkio-weight", "300"}, "BlkioWeight"},
		{[]string{"--device-cgroup-rule", "c 1:3 mr"}, "DeviceCgroupRules"},
	} {
		args := append(append([]string{"run", "--rm"}, tc.args...), "busybox", "true")
		if r := dk.Run(t, args...); r.Exit != 125 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("run %v: %s, want exit 125 and %q", tc.args, r, tc.want)
		}
	}
	if out := dk.Must(t, "ps", "-aq", "--filter", "status=created"); out != "" {
		t.Errorf("refused runs left containers: %q", out)
	}

	hosts := dk.Must(t, "run", "--rm", "-h", "web", "--domainname", "example.com", "busybox", "cat", "/etc/hosts")
	if !regexp.MustCompile(`(?m)^\S+\tweb\.example\.com web$`).MatchString(hosts) {
		t.Errorf("--domainname: /etc/hosts is\n%s", hosts)
	}

	cg := dk.Must(t, "run", "--rm", "--cgroupns", "private", "busybox", "cat", "/proc/self/cgroup")
	for _, line := range strings.Split(cg, "\n") {
		if !strings.HasSuffix(line, ":/") {
			t.Errorf("--cgroupns private: %q shows a path outside the namespace", line)
		}
	}
	name := uniq("cgp")
	parent := "/" + name
	defer func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent)
		dirs = append(dirs, "/sys/fs/cgroup"+parent)
		for _, dir := range dirs {
			os.Remove(dir)
		}
	}()
	cg = dk.Must(t, "run", "--rm", "--cgroup-parent", parent, "busybox", "cat", "/proc/self/cgroup")
	if !strings.Contains(cg, parent+"/") {
		t.Errorf("--cgroup-parent %s: /proc/self/cgroup is\n%s", parent, cg)
	}
	if r := dk.Run(t, "run", "--rm", "--cgroup-parent", "../../escape", "busybox", "true"); r.Exit != 125 {
		t.Errorf("--cgroup-parent with ..: %s", r)
	}
	// Resource knobs reach the cgroup.
	cg = dk.Must(t, "run", "--rm", "-m", "64m", "--memory-reservation", "32m", "busybox", "sh", "-c",
		"cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.low")
	if cg != "33554432" {
		t.Errorf("--memory-reservation 32m: %q", cg)
	}
}

// TestDistributionAndSearch: GET /distribution/{name}/json asks the
// registry for the descriptor and platforms (with X-Registry-Auth), and
// docker search lists a registry's catalogue; with no registry to ask,
// search says so.
func TestDistributionAndSearch(t *testing.T) {
	d := sharedDaemon(t, "compat")
	dk := d.Docker(t)
	line := bcryptLine("alice", "s3cret")
	if line == "" {
		t.Skip("no bcrypt generator (Debian's python3 crypt) for the registry's htpasswd")
	}
	reg := startDockerRegistry(t, line)
	R := reg.Host
	repo := R + "/" + uniq("distro")
	dk.Must(t, "tag", "busybox", repo+":1")
	defer dk.Run(t, "rmi", repo+":1")
	r := dk.RunIn(t, strings.NewReader("s3cret"), "login", "-u", "alice", "--password-stdin", R)
	if r.Exit != 0 {
		t.Fatalf("login: %s", r)
	}
	defer dk.Run(t, "logout", R)
	dk.Must(t, "push", repo+":1")

	auth := base64.URLEncoding.EncodeToString([]byte(`{"username":"alice","password":"s3cret","serveraddress":"` + R + `"}`))
	req, _ := http.NewRequest("GET", "http://berth/v1.47/distribution/"+repo+":1/json", nil)
	req.Header.Set("X-Registry-Auth", auth)
	resp, err := d.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var di struct {
		Descriptor struct {
			MediaType, Digest string
			Size              int64
		}
		Platforms []struct{ Architecture, OS string }
	}
	err = json.NewDecoder(resp.Body).Decode(&di)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("distribution inspect: %d %v", resp.StatusCode, err)
	}
	local := dk.Must(t, "inspect", "--format", "{{index .RepoDigests 0}}", repo+":1")
	if !strings.HasSuffix(local, "@"+di.Descriptor.Digest) || di.Descriptor.Size == 0 || di.Descriptor.MediaType == "" {
		t.Errorf("descriptor %+v, local repo digest %s", di.Descriptor, local)
	}
	if len(di.Platforms) != 1 || di.Platforms[0].OS != "linux" || di.Platforms[0].Architecture != goruntime.GOARCH {
		t.Errorf("platforms %+v", di.Platforms)
	}
	if code, _, body := d.API(t, "GET", "/v1.47/distribution/"+repo+":1/json", "", ""); code == 200 || !strings.Contains(body, "denied") {
		t.Errorf("distribution inspect without credentials: %d %s", code, body)
	}
	if code, _, body := d.API(t, "GET", "/v1.47/distribution/"+repo+":nosuchtag/json", "", ""); code != http.StatusNotFound {
		t.Errorf("distribution inspect of a missing tag: %d %s", code, body)
	}

	out := dk.Must(t, "search", "--format", "{{.Name}}", R+"/distro")
	if !strings.Contains(out, repo) {
		t.Errorf("docker search %s/distro: %q, want %s", R, out, repo)
	}
	if out := dk.Must(t, "search", "--format", "{{.Name}}", R+"/nothing-like-this"); out != "" {
		t.Errorf("search for nothing: %q", out)
	}
	// No registry named and none configured: a clear error, not [].
	if r := dk.Run(t, "search", "busybox"); r.Exit == 0 || !strings.Contains(r.Stderr, "no registry to search") {
		t.Errorf("search with no registry: %s", r)
	}
	if r := dk.Run(t, "search", "--filter", "nosuch=1", R+"/x"); r.Exit == 0 || !strings.Contains(r.Stderr, "invalid filter 'nosuch'") {
		t.Errorf("search with an unknown filter: %s", r)
	}
}
