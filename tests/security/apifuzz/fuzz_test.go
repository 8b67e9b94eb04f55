package apifuzz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// marker is in every name and path the fuzzer invents, so a file written
// outside the data root is found by name afterwards.
const marker = "zzfz"

// Bounds: the run stops at whichever comes first. CI runs the defaults;
// APIFUZZ_N raises the count for a longer local run.
const (
	defaultN     = 1500
	timeBudget   = 25 * time.Second
	maxRSSGrowth = 200 << 10 // KiB of RSS above the idle daemon's
)

// documented5xx are the server-side statuses a hostile request may get:
// 501 for what Berth does not serve, 503 when the connection reserve is
// all there is, 505 from net/http for a bad HTTP version. Any other 5xx
// (a 500 above all) is an input that reached an unchecked failure.
var documented5xx = map[int]bool{501: true, 503: true, 505: true}

// request is one hostile API call.
type request struct {
	method, path string
	header       http.Header
	body         []byte
	// raw requests bypass net/http's client (slow or truncated bodies,
	// malformed request lines).
	raw func(d *daemon) (int, string, error)
}

func (r request) String() string {
	b := r.body
	if len(b) > 120 {
		b = append(append([]byte{}, b[:120]...), "…"...)
	}
	return fmt.Sprintf("%s %.200s body=%q", r.method, r.path, b)
}

func decodeBody(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func TestAPIFuzz(t *testing.T) {
	skipUnlessRoot(t)
	seed := time.Now().UnixNano()
	if s := os.Getenv("APIFUZZ_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	n := defaultN
	if s := os.Getenv("APIFUZZ_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d (replay: APIFUZZ_SEED=%d), up to %d requests or %v", seed, seed, n, timeBudget)
	rng := rand.New(rand.NewSource(seed))
	before := scanOutside(t, "")
	d := startDaemon(t)
	importBusybox(t, d)
	g := &gen{rng: rng}
	g.containerID = createContainer(t, d)
	rss0 := d.rssKB()
	maxRSS := rss0
	start := time.Now()
	c := d.client(30 * time.Second)
	type finding struct {
		req    request
		status int
		msg    string
	}
	var findings []finding
	seen := map[string]bool{}
	statuses := map[int]int{}
	sent := 0
	for ; sent < n && time.Since(start) < timeBudget; sent++ {
		req := g.next()
		status, msg, err := send(d, c, req)
		if err != nil {
			// A transport error is fine when the request itself was
			// broken (huge header, truncated body): the daemon must still
			// answer the next one.
			if perr := d.ping(); perr != nil {
				t.Fatalf("berthd stopped answering after %s: %v (ping: %v)\n%s", req, err, perr, d.logTail())
			}
			statuses[-1]++
			continue
		}
		statuses[status]++
		if status >= 500 && !documented5xx[status] {
			key := fmt.Sprintf("%d %s %s", status, req.method, pathShape(req.path))
			if !seen[key] {
				seen[key] = true
				findings = append(findings, finding{req, status, msg})
			}
		}
		if sent%25 == 0 {
			if !d.running() {
				t.Fatalf("berthd died after %s\n%s", req, d.logTail())
			}
			if r := d.rssKB(); r > maxRSS {
				maxRSS = r
			}
		}
	}
	if err := d.ping(); err != nil {
		t.Fatalf("berthd does not answer after the run: %v", err)
	}
	if r := d.rssKB(); r > maxRSS {
		maxRSS = r
	}
	var codes []string
	for code, k := range statuses {
		codes = append(codes, fmt.Sprintf("%d:%d", code, k))
	}
	sort.Strings(codes)
	t.Logf("%d requests in %v; statuses %s; RSS %d KiB idle, %d KiB at most", sent, time.Since(start).Round(time.Millisecond), strings.Join(codes, " "), rss0, maxRSS)
	for _, f := range findings {
		t.Errorf("HTTP %d for %s: %.300s", f.status, f.req, f.msg)
	}
	if maxRSS-rss0 > maxRSSGrowth {
		t.Errorf("berthd's RSS grew from %d to %d KiB during the run, want < %d KiB more", rss0, maxRSS, maxRSSGrowth)
	}
	after := scanOutside(t, d.root)
	for p := range after {
		if !before[p] {
			t.Errorf("file written outside the data root: %s", p)
		}
	}
}

// pathShape groups findings by endpoint: IDs and names become "*".
func pathShape(p string) string {
	p, _, _ = strings.Cut(p, "?")
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if i >= 3 && s != "json" && s != "archive" && s != "exec" && s != "start" {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, "/")
}

func send(d *daemon, c *http.Client, r request) (int, string, error) {
	if r.raw != nil {
		return r.raw(d)
	}
	req, err := http.NewRequest(r.method, "http://berth"+r.path, bytes.NewReader(r.body))
	if err != nil {
		// The client refuses to send it (e.g. a control character in the
		// URL): send the same bytes raw.
		return rawSend(d, fmt.Sprintf("%s %s HTTP/1.1\r\nHost: berth\r\nContent-Length: %d\r\nContent-Type: application/json\r\n\r\n", r.method, r.path, len(r.body)), r.body, 0)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if len(r.body) > 0 && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}

// rawSend writes head and body (cut after cut bytes when cut > 0, then the
// connection is closed for writing) and reads the answer.
func rawSend(d *daemon, head string, body []byte, cut int) (int, string, error) {
	conn, err := net.Dial("unix", d.sock)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	go func() {
		io.WriteString(conn, head)
		if cut > 0 && cut < len(body) {
			conn.Write(body[:cut])
			conn.(*net.UnixConn).CloseWrite()
			return
		}
		conn.Write(body)
	}()
	buf := make([]byte, 4096)
	n, err := io.ReadAtLeast(conn, buf, 12)
	if err != nil {
		return 0, "", err
	}
	line := string(buf[:n])
	var code int
	if _, err := fmt.Sscanf(line, "HTTP/1.1 %d", &code); err != nil {
		return 0, line, fmt.Errorf("not an HTTP answer: %.80q", line)
	}
	return code, line, nil
}

func importBusybox(t *testing.T, d *daemon) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(d.root, "busybox.tar")
	cmd := exec.Command(filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "scripts", "mkbusybox.sh"), tarPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("scripts/mkbusybox.sh: %v\n%s", err, out)
	}
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, err := d.client(60*time.Second).Post("http://berth/images/create?fromSrc=-&repo=busybox&tag=latest", "application/x-tar", f)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || bytes.Contains(body, []byte(`"error"`)) {
		t.Fatalf("import busybox: %d %s", resp.StatusCode, body)
	}
}

func createContainer(t *testing.T, d *daemon) string {
	resp, err := d.client(30*time.Second).Post("http://berth/containers/create?name="+marker+"-base", "application/json",
		strings.NewReader(`{"Image":"busybox","Cmd":["sleep","1d"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Id, Message string }
	decodeBody(resp, &out)
	if out.Id == "" {
		t.Fatalf("create: %d %s", resp.StatusCode, out.Message)
	}
	return out.Id
}

// scanOutside lists every path whose name carries the marker in the places
// a path-traversal bug would write to, leaving out the daemon's own root.
func scanOutside(t *testing.T, skip string) map[string]bool {
	found := map[string]bool{}
	for _, top := range []string{"/", "/tmp", "/etc", "/var", "/run", "/root", "/usr", "/home", "/srv", "/opt"} {
		base := strings.Count(top, "/")
		if top == "/" {
			base = 0
		}
		filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if p == "/proc" || p == "/sys" || p == "/dev" || (skip != "" && (p == skip || strings.HasPrefix(p, skip+"/"))) {
				return filepath.SkipDir
			}
			if strings.Contains(e.Name(), marker) {
				found[p] = true
			}
			if e.IsDir() && strings.Count(p, "/")-base >= 3 && p != top {
				return filepath.SkipDir
			}
			return nil
		})
	}
	return found
}

// gen makes hostile requests.
type gen struct {
	rng         *rand.Rand
	containerID string
}

func (g *gen) pick(s ...string) string { return s[g.rng.Intn(len(s))] }

// hostileString is a name, path or value meant to break something.
func (g *gen) hostileString() string {
	switch g.rng.Intn(16) {
	case 0:
		return "../../../../tmp/" + marker + strconv.Itoa(g.rng.Intn(1000))
	case 1:
		return "/etc/" + marker
	case 2:
		return strings.Repeat("a", 1+g.rng.Intn(300)) + marker
	case 3:
		return marker + "\xff\xfe\xc0\xaf"
	case 4:
		return marker + "\x00nul"
	case 5:
		return "%2e%2e%2f%2e%2e%2f" + marker
	case 6:
		return strings.Repeat("../", 20) + marker
	case 7:
		return ""
	case 8:
		return "-" + marker
	case 9:
		return marker + "\n\r\t"
	case 10:
		return "/" + marker
	case 11:
		return strings.Repeat("x", 70000)
	case 12:
		return marker + ":" + strings.Repeat("9", 30)
	case 13:
		return "busybox@sha256:" + strings.Repeat("g", 64)
	case 14:
		return "." + marker
	}
	return marker + strconv.Itoa(g.rng.Intn(1e6))
}

func (g *gen) hostileNumber() any {
	return []any{-1, 0, -9223372036854775808, 9223372036854775807, 1e308, -1e308, 1.5, 18446744073709551615.0,
		"12", 4294967296, -4294967297, 1 << 62}[g.rng.Intn(12)]
}

// hostileValue is any JSON value, deeply nested sometimes.
func (g *gen) hostileValue(depth int) any {
	switch g.rng.Intn(9) {
	case 0:
		return g.hostileString()
	case 1:
		return g.hostileNumber()
	case 2:
		return g.rng.Intn(2) == 0
	case 3:
		return nil
	case 4:
		if depth > 3 {
			return marker
		}
		var a []any
		for i := g.rng.Intn(4); i > 0; i-- {
			a = append(a, g.hostileValue(depth+1))
		}
		return a
	case 5:
		if depth > 3 {
			return 0
		}
		m := map[string]any{}
		for i := g.rng.Intn(4); i > 0; i-- {
			m[g.hostileString()] = g.hostileValue(depth + 1)
		}
		return m
	case 6:
		return []string{g.hostileString(), g.hostileString()}
	case 7:
		return map[string]string{g.hostileString(): g.hostileString()}
	}
	return strings.Repeat("b", g.rng.Intn(1<<16))
}

var createFields = []string{"Image", "Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Hostname", "Domainname",
	"Labels", "ExposedPorts", "Volumes", "StopSignal", "StopTimeout", "Healthcheck", "Shell", "Tty", "OpenStdin",
	"HostConfig", "HostConfig.Binds", "HostConfig.Mounts", "HostConfig.Memory", "HostConfig.MemorySwap",
	"HostConfig.CpuShares", "HostConfig.NanoCpus", "HostConfig.PidsLimit", "HostConfig.Ulimits",
	"HostConfig.PortBindings", "HostConfig.NetworkMode", "HostConfig.RestartPolicy", "HostConfig.Devices",
	"HostConfig.CapAdd", "HostConfig.SecurityOpt", "HostConfig.Tmpfs", "HostConfig.ShmSize", "HostConfig.ExtraHosts",
	"HostConfig.Dns", "HostConfig.LogConfig", "HostConfig.Sysctls", "HostConfig.BlkioWeight", "HostConfig.CpusetCpus",
	"HostConfig.VolumesFrom", "HostConfig.Links", "HostConfig.Init", "HostConfig.Runtime", "HostConfig.Isolation",
	"NetworkingConfig", "NetworkingConfig.EndpointsConfig"}

// mutate sets, removes or breaks fields of a valid body.
func (g *gen) mutate(base map[string]any, fields []string) []byte {
	for i := 1 + g.rng.Intn(3); i > 0; i-- {
		f := fields[g.rng.Intn(len(fields))]
		parent := base
		if p, leaf, ok := strings.Cut(f, "."); ok {
			m, _ := base[p].(map[string]any)
			if m == nil {
				m = map[string]any{}
				base[p] = m
			}
			parent, f = m, leaf
		}
		if g.rng.Intn(6) == 0 {
			delete(parent, f)
		} else {
			parent[f] = g.hostileValue(0)
		}
	}
	b, _ := json.Marshal(base)
	switch g.rng.Intn(10) {
	case 0: // truncated
		b = b[:g.rng.Intn(len(b)+1)]
	case 1: // a flipped byte
		if len(b) > 0 {
			b[g.rng.Intn(len(b))] ^= byte(1 + g.rng.Intn(255))
		}
	case 2: // invalid UTF-8 inside the JSON text
		b = bytes.Replace(b, []byte(marker), []byte(marker+"\xff\xc3"), 1)
	case 3: // trailing junk
		b = append(b, "}}]]\x00"...)
	}
	return b
}

func (g *gen) filters() string {
	switch g.rng.Intn(6) {
	case 0:
		return g.hostileString()
	case 1:
		return `{"` + g.hostileString() + `":{"x":true}}`
	case 2:
		return `{"until":{"` + g.pick("1e99", "-1", "99999999999999999999", "2020-13-45", "9999-12-31T99:99", "0x10", "1h1h1h1h", "-9223372036854775808ns") + `":true}}`
	case 3:
		return `{"label":[` + strings.Repeat(`"a=b",`, 1000) + `"x"]}`
	case 4:
		return strings.Repeat("[", 5000)
	}
	return `{"dangling":{"` + g.pick("maybe", "", "TRUE", "2") + `":true},"label!":{"` + g.hostileString() + `":true}}`
}

func (g *gen) next() request {
	esc := url.PathEscape
	q := url.QueryEscape
	switch k := g.rng.Intn(20); k {
	case 0, 1, 2:
		body := g.mutate(map[string]any{"Image": "busybox", "Cmd": []string{"true"}, "HostConfig": map[string]any{}}, createFields)
		return request{method: "POST", path: "/containers/create?name=" + q(g.hostileString()), body: body}
	case 3:
		body := g.mutate(map[string]any{"Cmd": []string{"true"}, "AttachStdout": true}, []string{"Cmd", "Env", "User", "WorkingDir", "Privileged", "Tty", "DetachKeys", "ConsoleSize"})
		return request{method: "POST", path: "/containers/" + g.containerID + "/exec", body: body}
	case 4:
		body := g.mutate(map[string]any{"Name": marker + "net", "Driver": "bridge"}, []string{"Name", "Driver", "Options", "Labels", "IPAM", "IPAM.Config", "IPAM.Driver", "Internal", "EnableIPv6", "Scope", "ConfigFrom"})
		return request{method: "POST", path: "/networks/create", body: body}
	case 5:
		body := g.mutate(map[string]any{"Name": marker + "vol"}, []string{"Name", "Driver", "DriverOpts", "Labels", "ClusterVolumeSpec"})
		return request{method: "POST", path: "/volumes/create", body: body}
	case 6, 7:
		ep := g.pick("/containers/json?all=1&filters=", "/images/json?filters=", "/networks?filters=", "/volumes?filters=",
			"/containers/prune?filters=", "/images/prune?filters=", "/networks/prune?filters=", "/volumes/prune?filters=", "/build/prune?filters=")
		m := "GET"
		if strings.Contains(ep, "prune") {
			m = "POST"
		}
		return request{method: m, path: ep + q(g.filters())}
	case 8, 9:
		name := esc(g.hostileString())
		if g.rng.Intn(3) == 0 {
			name = g.hostileString() // unescaped: slashes, dots and all
		}
		ep := g.pick("GET /containers/%s/json", "DELETE /containers/%s", "GET /images/%s/json", "DELETE /images/%s",
			"GET /volumes/%s", "DELETE /volumes/%s", "GET /networks/%s", "DELETE /networks/%s", "POST /containers/%s/stop",
			"GET /containers/%s/logs?stdout=1", "GET /images/%s/history", "POST /containers/%s/rename?name=x", "GET /exec/%s/json",
			"GET /containers/%s/top", "GET /containers/%s/changes")
		m, p, _ := strings.Cut(ep, " ")
		return request{method: m, path: fmt.Sprintf(p, name)}
	case 10:
		p := g.hostileString()
		return request{method: g.pick("GET", "HEAD"), path: "/containers/" + g.containerID + "/archive?path=" + q(p)}
	case 11:
		return request{method: "PUT", path: "/containers/" + g.containerID + "/archive?path=" + q(g.hostileString()), body: []byte(g.hostileString())}
	case 12:
		num := fmt.Sprint(g.hostileNumber())
		// (no stop/restart/wait: a huge timeout waits as long as asked, in
		// Docker too, and would only spend the time budget)
		ep := g.pick("/containers/%s/logs?stdout=1&tail=", "/containers/%s/resize?h=3&w=",
			"/containers/%s/kill?signal=", "/containers/%s/wait?condition=", "/containers/json?limit=", "/containers/%s/logs?stdout=1&since=",
			"/images/json?all=", "/containers/%s/stats?stream=0&one-shot=")
		m := "POST"
		if strings.Contains(ep, "logs") || strings.Contains(ep, "json") || strings.Contains(ep, "stats") {
			m = "GET"
		}
		if strings.Contains(ep, "%s") {
			ep = fmt.Sprintf(ep, g.containerID)
		}
		return request{method: m, path: ep + q(num)}
	case 13: // huge or broken headers
		h := http.Header{}
		switch g.rng.Intn(3) {
		case 0:
			h.Set("X-Registry-Auth", strings.Repeat("A", 2<<20))
		case 1:
			h.Set("X-Registry-Auth", "!!!"+g.hostileString())
		default:
			h.Set("Content-Type", g.hostileString())
		}
		// (no pull: the test has no registry, and a pull that cannot reach
		// one is a 500 in Docker too)
		return request{method: g.pick("POST", "GET"), path: g.pick("/images/json", "/info", "/containers/create", "/volumes/create"), header: h, body: []byte(`{"Image":"busybox"}`)}
	case 14: // truncated body: the client closes its side half-way
		body := []byte(`{"Image":"busybox","Cmd":["` + strings.Repeat("x", 5000) + `"]}`)
		cut := 1 + g.rng.Intn(len(body)-1)
		return request{method: "POST", path: "/containers/create (truncated)", raw: func(d *daemon) (int, string, error) {
			return rawSend(d, fmt.Sprintf("POST /containers/create HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)), body, cut)
		}}
	case 15: // oversized or deeply nested JSON
		var body []byte
		switch g.rng.Intn(3) {
		case 0:
			body = []byte(`{"Image":"busybox","Cmd":[` + strings.Repeat(`"a",`, 1<<20) + `"a"]}`)
		case 1:
			body = []byte(`{"Image":"busybox","Labels":{"a":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat("}", 20000) + `}}`)
		default:
			body = []byte(`{"Name":"` + marker + `","Labels":{"k":"` + strings.Repeat("v", 400<<10) + `"}}`)
		}
		return request{method: "POST", path: g.pick("/containers/create", "/volumes/create", "/networks/create", "/containers/"+g.containerID+"/exec"), body: body}
	case 16: // malformed request lines
		line := g.pick("GET /../../etc/passwd HTTP/1.1", "GET /containers/json HTTP/9.9", "GET "+strings.Repeat("/a", 40000)+" HTTP/1.1", "BREW /_ping HTTP/1.1", "GET /v99.99/info HTTP/1.1", "GET /v1.0/info HTTP/1.1", "GET /_ping\x00 HTTP/1.1")
		return request{method: "RAW", path: line[:min(len(line), 60)], raw: func(d *daemon) (int, string, error) {
			return rawSend(d, line+"\r\nHost: berth\r\n\r\n", nil, 0)
		}}
	case 17:
		return request{method: "POST", path: "/containers/" + g.containerID + "/update", body: g.mutate(map[string]any{"Memory": 0}, []string{"Memory", "MemorySwap", "CpuShares", "NanoCpus", "PidsLimit", "RestartPolicy", "BlkioWeight", "CpusetCpus", "Ulimits"})}
	case 18:
		return request{method: "POST", path: "/commit?container=" + g.containerID + "&repo=" + q(g.hostileString()) + "&tag=" + q(g.hostileString()) + "&changes=" + q(g.hostileString()),
			body: g.mutate(map[string]any{"Cmd": []string{"sh"}}, []string{"Cmd", "Env", "Labels", "ExposedPorts", "Volumes", "WorkingDir", "User"})}
	}
	return request{method: "POST", path: fmt.Sprintf("/networks/%s/connect", esc(g.hostileString())), body: g.mutate(map[string]any{"Container": g.containerID}, []string{"Container", "EndpointConfig", "EndpointConfig.IPAMConfig", "EndpointConfig.Aliases"})}
}
