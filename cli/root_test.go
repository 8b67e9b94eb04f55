package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/berth-dev/berth/cli/internal/clitest"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDaemon answers the few endpoints the tests use on a unix socket and
// records the paths it was asked for.
type fakeDaemon struct {
	t      *testing.T
	host   string
	mu     sync.Mutex
	paths  []string
	images map[string]bool
	start  func(w http.ResponseWriter)
}

func newFakeDaemon(t *testing.T) *fakeDaemon {
	d := &fakeDaemon{t: t, images: map[string]bool{}}
	d.host = clitest.ServeUnix(t, http.HandlerFunc(d.serve))
	return d
}

func (d *fakeDaemon) recorded() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.paths...)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (d *fakeDaemon) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.paths = append(d.paths, r.Method+" "+r.URL.Path)
	d.mu.Unlock()
	w.Header().Set("Api-Version", "1.47")
	path := r.URL.Path
	if strings.HasPrefix(path, "/v") {
		if i := strings.Index(path[1:], "/"); i > 0 {
			path = path[i+1:]
		}
	}
	const id = "4f6e3c7a1b2d4f6e3c7a1b2d4f6e3c7a1b2d4f6e3c7a1b2d4f6e3c7a1b2d4f6e"
	switch {
	case path == "/_ping":
		w.Write([]byte("OK"))
	case path == "/containers/json":
		created := time.Now().Add(-2 * time.Minute).Unix()
		fmt.Fprintf(w, `[{"Id":%q,"Names":["/web"],"Image":"busybox","ImageID":"sha256:ab","Command":"sleep 100","Created":%d,"Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}],"State":"running","Status":"Up 2 minutes"}]`, id, created)
	case path == "/containers/create":
		var req struct{ Image string }
		json.NewDecoder(r.Body).Decode(&req)
		if !d.images[req.Image] {
			apiError(w, 404, "No such image: "+req.Image+":latest")
			return
		}
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"Id":%q,"Warnings":[]}`, id)
	case path == "/images/create":
		d.images[strings.TrimPrefix(r.URL.Query().Get("fromImage"), "docker.io/library/")] = true
		fmt.Fprint(w, `{"status":"Pulling from library/busybox","id":"latest"}`+"\n"+`{"status":"Status: Downloaded newer image for busybox:latest"}`+"\n")
	case path == "/containers/"+id+"/start":
		if d.start != nil {
			d.start(w)
			return
		}
		w.WriteHeader(204)
	case path == "/containers/"+id+"/wait":
		fmt.Fprint(w, `{"StatusCode":3}`)
	case path == "/containers/"+id+"/attach":
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			d.t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		frame := func(stream byte, s string) {
			hdr := make([]byte, 8)
			hdr[0] = stream
			binary.BigEndian.PutUint32(hdr[4:], uint32(len(s)))
			buf.Write(hdr)
			buf.WriteString(s)
		}
		frame(1, "hello out\n")
		frame(2, "hello err\n")
		buf.Flush()
	case path == "/containers/missing/json":
		apiError(w, 404, "No such container: missing")
	case path == "/version":
		fmt.Fprint(w, `{"Version":"0.1.0","ApiVersion":"1.47","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","Components":[{"Name":"Engine","Version":"0.1.0","Details":{"ApiVersion":"1.47","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","GitCommit":"abc","GoVersion":"go1.26","BuildTime":"now","Experimental":"false"}}]}`)
	default:
		apiError(w, 404, "page not found: "+r.URL.Path)
	}
}

func run(t *testing.T, host string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"-H", host}, args...), io.NopCloser(strings.NewReader(stdin)), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPsAgainstFakeDaemon(t *testing.T) {
	d := newFakeDaemon(t)
	code, out, errs := run(t, d.host, "", "ps")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "CONTAINER ID   IMAGE     COMMAND       CREATED         STATUS         PORTS                  NAMES") {
		t.Fatalf("ps output:\n%s", out)
	}
	for _, want := range []string{"4f6e3c7a1b2d", `"sleep 100"`, "2 minutes ago", "Up 2 minutes", "0.0.0.0:8080->80/tcp", "web"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row lacks %q: %q", want, lines[1])
		}
	}
	// A first GET goes out unversioned with no ping before it: the daemon
	// serves it at its 1.47, which negotiation would have chosen (later
	// requests are versioned: cli/client's TestFirstGetSkipsPing).
	if got := strings.Join(d.recorded(), ", "); got != "GET /containers/json" {
		t.Errorf("requests: %s, want GET /containers/json alone", got)
	}
}

func TestRunPullsAttachesAndExitsWithStatus(t *testing.T) {
	d := newFakeDaemon(t)
	code, out, errs := run(t, d.host, "", "run", "--rm", "busybox", "sh", "-c", "exit 3")
	if code != 3 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if !strings.HasPrefix(errs, "Unable to find image 'busybox:latest' locally\n") || !strings.Contains(errs, "hello err\n") {
		t.Errorf("stderr %q", errs)
	}
	if out != "hello out\n" {
		t.Errorf("stdout %q", out)
	}
	// Attach and wait must both precede start.
	var order []string
	for _, p := range d.recorded() {
		for _, s := range []string{"/attach", "/wait", "/start"} {
			if strings.HasSuffix(p, s) {
				order = append(order, s)
			}
		}
	}
	if len(order) != 3 || order[2] != "/start" {
		t.Errorf("request order %v", order)
	}
}

func TestRunDetachedPrintsID(t *testing.T) {
	d := newFakeDaemon(t)
	d.images["busybox"] = true
	code, out, errs := run(t, d.host, "", "run", "-d", "busybox")
	if code != 0 || strings.TrimSpace(out) != "4f6e3c7a1b2d4f6e3c7a1b2d4f6e3c7a1b2d4f6e3c7a1b2d4f6e3c7a1b2d4f6e" {
		t.Fatalf("exit %d out %q err %q", code, out, errs)
	}
}

func TestRunStartErrorsMapToExitCodes(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		code int
	}{
		{`failed to create task: exec: "nope": executable file not found in $PATH`, 127},
		{`exec /etc: permission denied`, 126},
		{`cgroup setup failed`, 125},
	} {
		d := newFakeDaemon(t)
		d.images["busybox"] = true
		d.start = func(w http.ResponseWriter) { apiError(w, 500, tc.msg) }
		code, _, errs := run(t, d.host, "", "run", "-d", "busybox", "nope")
		if code != tc.code {
			t.Errorf("%q: exit %d want %d", tc.msg, code, tc.code)
		}
		want := "berth: Error response from daemon: " + tc.msg + "\n\nRun 'berth run --help' for more information\n"
		if errs != want {
			t.Errorf("stderr %q want %q", errs, want)
		}
	}
}

func TestErrorsAndExitCodes(t *testing.T) {
	d := newFakeDaemon(t)
	code, out, errs := run(t, d.host, "", "inspect", "missing")
	if code != 1 || out != "[]\n" || errs != "Error: No such object: missing\n" {
		t.Errorf("inspect missing: %d %q %q", code, out, errs)
	}
	code, _, errs = run(t, d.host, "", "container", "inspect", "missing")
	if code != 1 || errs != "Error response from daemon: No such container: missing\n" {
		t.Errorf("container inspect missing: %d %q", code, errs)
	}
	sock := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	code, _, errs = run(t, sock, "", "ps")
	if code != 1 || errs != "Cannot connect to the Berth daemon at "+sock+". Is the daemon running?\n" {
		t.Errorf("unreachable: %d %q", code, errs)
	}
	code, _, errs = run(t, sock, "", "run", "busybox")
	if code != 125 || !strings.HasPrefix(errs, "berth: Cannot connect to the Berth daemon") {
		t.Errorf("run unreachable: %d %q", code, errs)
	}
	code, _, errs = run(t, d.host, "", "run", "--bogus", "busybox")
	if code != 125 || !strings.HasPrefix(errs, "unknown flag: --bogus\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]") {
		t.Errorf("bad flag: %d %q", code, errs)
	}
	code, _, errs = run(t, d.host, "", "rm")
	if code != 1 || !strings.HasPrefix(errs, "berth: 'berth rm' requires at least 1 argument") {
		t.Errorf("rm no args: %d %q", code, errs)
	}
	code, out, _ = run(t, d.host, "", "version", "--format", "{{.Client.APIVersion}} {{.Server.Version}}")
	if code != 0 || out != "1.47 0.1.0\n" {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestHostDiscovery(t *testing.T) {
	t.Setenv("BERTH_HOST", "")
	t.Setenv("DOCKER_HOST", "")
	if got := resolve(nil); got != "unix:///run/berth/berth.sock" {
		t.Errorf("default %q", got)
	}
	t.Setenv("DOCKER_HOST", "unix:///d.sock")
	if got := resolve(nil); got != "unix:///d.sock" {
		t.Errorf("DOCKER_HOST %q", got)
	}
	t.Setenv("BERTH_HOST", "unix:///b.sock")
	if got := resolve(nil); got != "unix:///b.sock" {
		t.Errorf("BERTH_HOST %q", got)
	}
	if got := resolve([]string{"unix:///h.sock"}); got != "unix:///h.sock" {
		t.Errorf("-H %q", got)
	}
}
