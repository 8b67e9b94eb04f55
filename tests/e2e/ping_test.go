package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPingHeaders(t *testing.T) {
	d := sharedDaemon(t, "core")
	for _, method := range []string{"GET", "HEAD"} {
		for _, path := range []string{"/_ping", "/v1.47/_ping", "/v1.24/_ping"} {
			status, h, body := d.API(t, method, path, "", "")
			if status != 200 {
				t.Errorf("%s %s: HTTP %d, want 200", method, path, status)
			}
			if method == "GET" && body != "OK" {
				t.Errorf("GET %s: body %q, want OK", path, body)
			}
			if method == "HEAD" && body != "" {
				t.Errorf("HEAD %s: body %q, want none", path, body)
			}
			if got := h.Get("Api-Version"); got != "1.47" {
				t.Errorf("%s %s: Api-Version %q, want 1.47", method, path, got)
			}
			if got := h.Get("Ostype"); got != "linux" {
				t.Errorf("%s %s: Ostype %q, want linux", method, path, got)
			}
			for _, k := range []string{"Server", "Builder-Version"} {
				if _, ok := h[k]; !ok {
					t.Errorf("%s %s: no %s header; headers: %v", method, path, k, h)
				}
			}
		}
	}
}

func TestAPIVersionNegotiation(t *testing.T) {
	d := sharedDaemon(t, "core")
	status, _, body := d.API(t, "GET", "/v1.99/version", "", "")
	if status != 400 || !strings.Contains(body, "client version 1.99 is too new. Maximum supported API version is 1.47") {
		t.Errorf("GET /v1.99/version: HTTP %d %q, want 400 with Docker's too-new message", status, body)
	}
	for _, path := range []string{"/version", "/v1.47/version", "/v1.44/version"} {
		status, _, body := d.API(t, "GET", path, "", "")
		if status != 200 {
			t.Errorf("GET %s: HTTP %d %q, want 200", path, status, body)
			continue
		}
		var v struct {
			APIVersion    string `json:"ApiVersion"`
			MinAPIVersion string `json:"MinAPIVersion"`
			Os, Arch      string
			Version       string
		}
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Errorf("GET %s: body is not JSON: %v: %q", path, err, body)
			continue
		}
		if v.APIVersion != "1.47" || v.Os != "linux" || v.Version == "" || v.MinAPIVersion == "" {
			t.Errorf("GET %s: %+v, want ApiVersion 1.47, Os linux, Version and MinAPIVersion set", path, v)
		}
	}
	// Unversioned paths work beyond /version.
	if status, _, body := d.API(t, "GET", "/containers/json", "", ""); status != 200 || !strings.HasPrefix(strings.TrimSpace(body), "[") {
		t.Errorf("GET /containers/json: HTTP %d %q, want 200 and a JSON array", status, body)
	}
	if status, _, body := d.API(t, "GET", "/info", "", ""); status != 200 {
		t.Errorf("GET /info: HTTP %d %q, want 200", status, body)
	}
}

func TestVersionCommand(t *testing.T) {
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		out := c.Must(t, "version", "--format", "{{.Server.APIVersion}}")
		if out != "1.47" {
			t.Errorf("%s version --format {{.Server.APIVersion}}: %q, want 1.47", c.Name, out)
		}
		full := c.Must(t, "version")
		if !strings.Contains(full, "Server") || !strings.Contains(full, "1.47") {
			t.Errorf("%s version: no Server section with API 1.47:\n%s", c.Name, full)
		}
		// The one version and commit the build stamped (internal/version).
		want := buildVersion + " " + buildCommit
		if got := c.Must(t, "version", "--format", "{{.Server.Version}} {{.Server.GitCommit}}"); got != want {
			t.Errorf("%s version: server %q, want %q", c.Name, got, want)
		}
		if c.Name == "berth" {
			if got := c.Must(t, "version", "--format", "{{.Client.Version}} {{.Client.GitCommit}}"); got != want {
				t.Errorf("berth version: client %q, want %q", got, want)
			}
		}
	})
	out, err := exec.Command(filepath.Join(binDir, "berthd"), "--version").Output()
	if want := "Berth version " + buildVersion + ", build " + buildCommit; err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("berthd --version: %q %v, want %q", out, err, want)
	}
}
