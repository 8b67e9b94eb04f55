package e2e

// The hostile-archive half of the security suite (issue 10): every class
// of archive that tests/security/archive builds goes to a real berthd
// through each way an archive enters it — import, load, PUT
// /containers/{id}/archive and a build context. Nothing may appear
// outside the data root, no host file may change, berthd must stay up and
// answer each one with 2xx (accepted harmlessly) or 4xx (refused), never
// 5xx; the cases a correct engine must refuse must be refused.
//
// Run it alone: go test ./tests/e2e -run TestHostileArchives -v
// (HOSTILE_CASE=<name> runs one case, see hostile.Cases for the names).

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hostile "github.com/berth-dev/berth/tests/security/archive"
)

// apiBytes sends a binary body and returns status and response body.
func (d *Daemon) apiBytes(tb testing.TB, method, path, contentType string, body []byte) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(method, "http://berth"+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c, err := net.Dial("unix", d.Sock)
	if err != nil {
		return 0, err.Error()
	}
	c.SetDeadline(time.Now().Add(2 * time.Minute)) // a failure bound only
	// The body is written beside the reading of the answer: berthd may
	// refuse an archive before it has read all of it and close, and the
	// answer it sent first is what the test is about, not the broken
	// pipe the rest of the body then meets (net/http's client reports
	// the write's error instead of the answer when that race goes so).
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		req.Write(c)
	}()
	defer func() {
		c.Close()
		<-wrote
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// refused: a 4xx, or (streaming endpoints, whose status is sent before
// the work) a 200 whose stream ends with an error message.
func refused(code int, body string) bool {
	return code >= 400 && code < 500 || code == 200 && (strings.Contains(body, `"errorDetail"`) || strings.Contains(body, `"error"`))
}

// hostileLoadArchive wraps a layer tar in a `docker save` archive whose
// config names its diff ID, so that load extracts it as a layer.
func hostileLoadArchive(t *testing.T, layer []byte) []byte {
	sum := sha256.Sum256(layer)
	cfg := fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%x"]}}`, sum)
	csum := sha256.Sum256([]byte(cfg))
	manifest, _ := json.Marshal([]map[string]any{{"Config": fmt.Sprintf("%x.json", csum), "RepoTags": []string{"hostile-load:latest"}, "Layers": []string{"layer.tar"}}})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", manifest}, {fmt.Sprintf("%x.json", csum), []byte(cfg)}, {"layer.tar", layer}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg})
		tw.Write(f.data)
	}
	tw.Close()
	return buf.Bytes()
}

// hostileContext puts a Dockerfile in front of a hostile tar, so that the
// build extracts the context and then copies it into an image.
func hostileContext(data []byte) []byte {
	df := []byte("FROM busybox\nCOPY . /ctx/\n")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df)), Typeflag: tar.TypeReg})
	tw.Write(df)
	tw.Flush()
	// The hostile stream follows the Dockerfile entry (its own end marker
	// ends the whole).
	return append(buf.Bytes(), data...)
}

func fileSum(t *testing.T, p string) [32]byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestHostileArchives(t *testing.T) {
	d := startDaemon(t)
	outside := t.TempDir()
	watched := map[string][32]byte{}
	for _, p := range []string{"/etc/passwd", "/etc/hostname", "/etc/hosts"} {
		watched[p] = fileSum(t, p)
	}
	c := d.Berth()
	ctr := uniq("hostile-target")
	c.Must(t, "create", "--name", ctr, "busybox", "true")
	defer c.Run(t, "rm", "-f", ctr)

	deadline := time.Now().Add(3 * time.Minute)
	cases := hostile.Cases(outside)
	only := os.Getenv("HOSTILE_CASE") // run one case by name
	for _, hc := range cases {
		if only != "" && hc.Name != only {
			continue
		}
		gz := bytes.HasPrefix(hc.Data, []byte{0x1f, 0x8b})
		feeds := []struct {
			name, method, path, ctype string
			body                      []byte
			mustRefuse                bool
		}{
			{"import", "POST", "/v1.47/images/create?fromSrc=-&repo=hostile-import&tag=" + hc.Name, "application/x-tar", hc.Data, hc.MustRefuse},
			// The hostile tar as the load archive itself: refused one way
			// or another (no manifest), but extracted first.
			{"load-outer", "POST", "/v1.47/images/load?quiet=1", "application/x-tar", hc.Data, true},
			{"put-archive", "PUT", "/v1.47/containers/" + ctr + "/archive?path=/", "application/x-tar", hc.Data, hc.MustRefuse},
			{"build", "POST", "/v1.47/build?t=hostile-build:" + hc.Name + "&rm=1&forcerm=1", "application/x-tar", hostileContext(hc.Data), hc.MustRefuse},
		}
		if !gz {
			feeds = append(feeds, struct {
				name, method, path, ctype string
				body                      []byte
				mustRefuse                bool
			}{"load-layer", "POST", "/v1.47/images/load?quiet=1", "application/x-tar", hostileLoadArchive(t, hc.Data), hc.MustRefuse})
		}
		for _, f := range feeds {
			if time.Now().After(deadline) {
				t.Fatalf("suite over its time budget at %s/%s", hc.Name, f.name)
			}
			start := time.Now()
			code, body := d.apiBytes(t, f.method, f.path, f.ctype, f.body)
			if el := time.Since(start); el > 500*time.Millisecond {
				t.Logf("%s via %s: %v (HTTP %d)", hc.Name, f.name, el.Round(time.Millisecond), code)
			}
			switch {
			case code == 0:
				t.Errorf("%s via %s: no answer: %s", hc.Name, f.name, body)
			case code >= 500:
				t.Errorf("%s via %s: HTTP %d %s, want 2xx or 4xx", hc.Name, f.name, code, strings.TrimSpace(body))
			case f.mustRefuse && !refused(code, body):
				t.Errorf("%s via %s: HTTP %d %s, want it refused", hc.Name, f.name, code, strings.TrimSpace(body))
			}
			if err := d.waitPing(5 * time.Second); err != nil {
				t.Fatalf("%s via %s: berthd down: %v", hc.Name, f.name, err)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("%s via %s: wrote outside the data root: %v", hc.Name, f.name, ents)
			}
		}
	}
	for p, sum := range watched {
		if fileSum(t, p) != sum {
			t.Errorf("host file %s changed", p)
		}
	}
	// Nothing either outside the canary: no file appeared in the
	// parents the "../" climbs pass through.
	for _, p := range []string{filepath.Join(filepath.Dir(outside), "dotdot"), "/dotdot", "/absolute", "/tmp/dotdot"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists on the host", p)
		}
	}
}
