package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Secrets and configs from files are bind-mounted read-only where docker
// compose puts them; volumes_from, logging, ulimits, devices and ipc reach
// the containers.
func TestComposeSecretsAndServiceFeatures(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	f := writeProject(t, `
services:
  app:
    image: busybox
    command: ["sleep", "600"]
    stop_grace_period: 1s
    secrets: [db_pass, {source: api_key, target: custom_key}]
    configs: [app_conf, {source: app_conf, target: /etc/app.conf}]
    volumes: [data:/data]
    logging: {driver: json-file, options: {max-size: 1m, max-file: "2"}}
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    devices: ["/dev/null:/dev/mynull"]
    ipc: host
  reader:
    image: busybox
    command: ["sleep", "600"]
    stop_grace_period: 1s
    volumes_from: ["app:ro"]
secrets:
  db_pass: {file: ./db_pass.txt}
  api_key: {file: ./api_key.txt}
configs:
  app_conf: {file: ./app.conf}
volumes:
  data: {}
`)
	dir := filepath.Dir(f)
	for name, content := range map[string]string{"db_pass.txt": "s3cret\n", "api_key.txt": "key-123\n", "app.conf": "mode=test\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := []string{"compose", "-f", f, "-p", "feat"}
	defer b.Run(t, append(p, "down", "-v")...)
	b.Must(t, append(p, "up", "-d")...)
	ex := func(svc string, script string) Result {
		return b.Run(t, append(p, "exec", "-T", svc, "sh", "-c", script)...)
	}
	if r := ex("app", "cat /run/secrets/db_pass /run/secrets/custom_key /app_conf /etc/app.conf"); r.Exit != 0 || r.Out() != "s3cret\nkey-123\nmode=test\nmode=test" {
		t.Fatalf("secrets/configs: %s", r)
	}
	if r := ex("app", "echo x > /run/secrets/db_pass"); r.Exit == 0 {
		t.Fatalf("secret writable: %s", r)
	}
	if r := ex("app", "ulimit -n; ulimit -Hn; ulimit -u; test -c /dev/mynull && echo dev-ok"); r.Out() != "1024\n2048\n512\ndev-ok" {
		t.Fatalf("ulimits/devices: %s", r)
	}
	hostIPC, err := os.Readlink("/proc/self/ns/ipc")
	if err != nil {
		t.Fatal(err)
	}
	if r := ex("app", "readlink /proc/self/ns/ipc"); r.Out() != hostIPC {
		t.Fatalf("ipc host: %s, host has %s", r, hostIPC)
	}
	if got := b.Must(t, "inspect", "-f", `{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}} {{index .HostConfig.LogConfig.Config "max-file"}}`, "feat-app-1"); got != "json-file 1m 2" {
		t.Fatalf("logging: %q", got)
	}
	// volumes_from: the reader sees app's volume, read-only
	ex("app", "echo shared > /data/f")
	if r := ex("reader", "cat /data/f"); r.Out() != "shared" {
		t.Fatalf("volumes_from: %s", r)
	}
	if r := ex("reader", "echo no > /data/g"); r.Exit == 0 {
		t.Fatalf("volumes_from :ro writable: %s", r)
	}

	// ipc of another service is refused by name before anything changes
	bad := writeProject(t, "services:\n  a:\n    image: busybox\n  b:\n    image: busybox\n    ipc: service:a\n")
	if r := b.Run(t, "compose", "-f", bad, "-p", "featbad", "up", "-d"); r.Exit == 0 || !strings.Contains(r.Stderr, "does not support ipc service:a") {
		t.Fatalf("ipc service: %s", r)
	}
	if out := b.Must(t, "ps", "-aq", "--filter", "label=com.docker.compose.project=featbad"); out != "" {
		t.Fatalf("containers created: %q", out)
	}
}
