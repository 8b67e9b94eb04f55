package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeProject writes compose.yaml into a new directory and returns the
// file's path.
func writeProject(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// waitOut polls args until stdout satisfies ok.
func waitOut(t *testing.T, c CLI, ok func(string) bool, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := c.Run(t, args...)
		if r.Exit == 0 && ok(r.Out()) {
			return r.Out()
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met: %s", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestComposeWebClientHealthGate(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	f := writeProject(t, `
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && httpd -f -p 80 -h /www"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1/"]
      interval: 1s
      retries: 30
  client:
    image: busybox
    command: ["wget", "-q", "-O-", "http://web/"]
    depends_on:
      web:
        condition: service_healthy
x-ignored: {a: 1}
`)
	p := []string{"compose", "-f", f, "-p", "webapp"}
	defer b.Run(t, append(p, "down", "-v")...)
	b.Must(t, append(p, "up", "-d")...)
	// the client ran only after web was healthy, and reached it by name
	b.Must(t, "wait", "webapp-client-1")
	if st := b.Must(t, "inspect", "-f", "{{.State.Health.Status}}", "webapp-web-1"); st != "healthy" {
		t.Fatalf("web health %q", st)
	}
	if out := b.Must(t, append(p, "logs", "client")...); !strings.Contains(out, "client-1  | hello-from-web") {
		t.Fatalf("client logs: %q", out)
	}
	labels := b.Must(t, "inspect", "-f", `{{index .Config.Labels "com.docker.compose.project"}} {{index .Config.Labels "com.docker.compose.service"}} {{index .Config.Labels "com.docker.compose.container-number"}} {{index .Config.Labels "com.docker.compose.oneoff"}} {{index .Config.Labels "com.docker.compose.depends_on"}}`, "webapp-client-1")
	if labels != "webapp client 1 False web:service_healthy:false" {
		t.Fatalf("labels %q", labels)
	}
	if out := b.Must(t, "network", "ls", "--format", "{{.Name}}"); !strings.Contains(out, "webapp_default") {
		t.Fatalf("networks %q", out)
	}
	if out := b.Must(t, append(p, "ps", "-a", "--services")...); out != "client\nweb" {
		t.Fatalf("ps services %q", out)
	}
	if out := b.Must(t, "compose", "ls"); !strings.Contains(out, "webapp") || !strings.Contains(out, f) {
		t.Fatalf("ls %q", out)
	}
	b.Must(t, append(p, "down")...)
	if out := b.Must(t, "ps", "-aq", "--filter", "label=com.docker.compose.project=webapp"); out != "" {
		t.Fatalf("containers left after down: %q", out)
	}
	if out := b.Must(t, "network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "webapp_default") {
		t.Fatalf("network left after down: %q", out)
	}
}

func TestComposeVolumeScaleRecreate(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	yaml := `
services:
  app:
    image: busybox
    command: ["sh", "-c", "echo kept > /data/f; exec sleep 600"]
    stop_grace_period: 1s
    volumes: [data:/data]
  other:
    image: busybox
    command: ["sleep", "600"]
    stop_grace_period: 1s
    environment:
      MODE: ${MODE:-one}
volumes:
  data: {}
`
	f := writeProject(t, yaml)
	p := []string{"compose", "-f", f, "-p", "vs"}
	defer b.Run(t, append(p, "down", "-v")...)
	b.Must(t, append(p, "up", "-d")...)
	idApp := b.Must(t, "inspect", "-f", "{{.Id}}", "vs-app-1")
	idOther := b.Must(t, "inspect", "-f", "{{.Id}}", "vs-other-1")

	// unchanged: nothing recreated
	b.Must(t, append(p, "up", "-d")...)
	if id := b.Must(t, "inspect", "-f", "{{.Id}}", "vs-app-1"); id != idApp {
		t.Fatal("app recreated without a change")
	}
	// a change to one service recreates only it
	if err := os.WriteFile(filepath.Join(filepath.Dir(f), ".env"), []byte("MODE=two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Must(t, append(p, "up", "-d")...)
	if id := b.Must(t, "inspect", "-f", "{{.Id}}", "vs-app-1"); id != idApp {
		t.Fatal("app recreated though only other changed")
	}
	if id := b.Must(t, "inspect", "-f", "{{.Id}}", "vs-other-1"); id == idOther {
		t.Fatal("other not recreated after its environment changed")
	}
	if env := b.Must(t, "inspect", "-f", "{{.Config.Env}}", "vs-other-1"); !strings.Contains(env, "MODE=two") {
		t.Fatalf("env %q", env)
	}

	// scale to 3 and back
	b.Must(t, append(p, "up", "-d", "--scale", "other=3")...)
	if out := b.Must(t, append(p, "ps", "-q", "other")...); len(strings.Fields(out)) != 3 {
		t.Fatalf("scaled to 3: %q", out)
	}
	b.Must(t, append(p, "up", "-d")...)
	if out := b.Must(t, append(p, "ps", "-q", "other")...); len(strings.Fields(out)) != 1 {
		t.Fatalf("scaled back to 1: %q", out)
	}

	// pause/unpause/kill/restart act on the service's containers
	state := func() string { return b.Must(t, "inspect", "-f", "{{.State.Status}}", "vs-other-1") }
	b.Must(t, append(p, "pause", "other")...)
	if st := state(); st != "paused" {
		t.Fatalf("after pause: %s", st)
	}
	b.Must(t, append(p, "unpause", "other")...)
	if st := state(); st != "running" {
		t.Fatalf("after unpause: %s", st)
	}
	b.Must(t, append(p, "kill", "other")...)
	waitOut(t, b, func(s string) bool { return s == "exited" }, "inspect", "-f", "{{.State.Status}}", "vs-other-1")
	b.Must(t, append(p, "restart", "other")...)
	if st := state(); st != "running" {
		t.Fatalf("after restart: %s", st)
	}
	if r := b.Run(t, append(p, "pause", "nosuch")...); r.Exit == 0 || !strings.Contains(r.Stderr, "no such service: nosuch") {
		t.Fatalf("unknown service: %s", r)
	}

	// the named volume survives down, goes with down -v
	b.Must(t, append(p, "down")...)
	if out := b.Must(t, "volume", "ls", "-q"); !strings.Contains(out, "vs_data") {
		t.Fatalf("volume gone after down: %q", out)
	}
	if out := b.Must(t, "run", "--rm", "-v", "vs_data:/data", "busybox", "cat", "/data/f"); out != "kept" {
		t.Fatalf("volume content %q", out)
	}
	b.Must(t, append(p, "down", "-v")...)
	if out := b.Must(t, "volume", "ls", "-q"); strings.Contains(out, "vs_data") {
		t.Fatalf("volume left after down -v: %q", out)
	}
}

func TestComposeBadInput(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "services:\n  a:\n    image: busybox\n    bogus: 1\n", "services.a.bogus"},
		{"interpolation", "services:\n  a:\n    image: ${IMG:?IMG must be set}\n", "IMG must be set"},
		{"cycle", "services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n", "cycle"},
		{"external network", "services:\n  a:\n    image: busybox\n    networks: [ext]\nnetworks:\n  ext:\n    external: true\n    name: nosuchnet-e2e\n", "network nosuchnet-e2e declared as external, but could not be found"},
		{"unsupported", "services:\n  a:\n    image: busybox\n    pid: host\n", "does not support pid"},
		{"missing secret file", "services:\n  a:\n    image: busybox\n    secrets: [s]\nsecrets:\n  s:\n    file: ./nosuch.txt\n", "secret file"},
		{"secret from environment", "services:\n  a:\n    image: busybox\n    secrets: [s]\nsecrets:\n  s:\n    environment: HOME\n", "secrets from environment"},
		{"undefined secret", "services:\n  a:\n    image: busybox\n    secrets: [nosuch]\n", "nosuch"},
		{"missing build context", "services:\n  a:\n    build: ./nosuchdir\n", "nosuchdir"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := writeProject(t, tc.yaml)
			// every command that creates refuses before creating anything
			for _, verb := range [][]string{{"up", "-d"}, {"up"}, {"create"}, {"run", "--rm", "-T", "a", "true"}} {
				r := b.Run(t, append([]string{"compose", "-f", f, "-p", "bad"}, verb...)...)
				if r.Exit == 0 || !strings.Contains(r.Stderr, tc.want) {
					t.Fatalf("%v: want failure with %q: %s", verb, tc.want, r)
				}
			}
			if out := b.Must(t, "ps", "-aq"); out != "" {
				t.Fatalf("containers created: %q", out)
			}
			if out := b.Must(t, "network", "ls", "-q", "--filter", "label=com.docker.compose.project=bad"); out != "" {
				t.Fatalf("networks created: %q", out)
			}
		})
	}
}

// composePlugin finds a docker compose v5 CLI plugin (scripts/setup.sh
// builds it from the module proxy) or skips t.
func composePlugin(t *testing.T, d *Daemon) CLI {
	t.Helper()
	return cliPlugin(t, d, "docker-compose", "BERTH_COMPOSE_PLUGIN", "/root/.cache/berth/docker-compose-v5.6.0")
}

// cliPlugin installs the docker CLI plugin name (e.g. "docker-compose")
// into d's DOCKER_CONFIG, found through the environment variable env, the
// cache scripts/setup.sh builds it into, or ~/.docker/cli-plugins; it
// skips t when there is none.
func cliPlugin(t *testing.T, d *Daemon, name, env, cached string) CLI {
	t.Helper()
	dc := d.Docker(t)
	candidates := []string{os.Getenv(env), cached}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".docker", "cli-plugins", name))
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if fi, err := os.Stat(c); err == nil && fi.Mode()&0o111 != 0 {
			dir := filepath.Join(d.Home, ".docker", "cli-plugins")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(dir, name)
			_ = os.Remove(link)
			if err := os.Symlink(c, link); err != nil {
				t.Fatal(err)
			}
			return dc
		}
	}
	t.Skipf("%s plugin not built (scripts/build-tools.sh builds it into %s; or set %s)", name, cached, env)
	return dc
}

// docker compose sees, lists and removes what berth compose made, and berth
// compose manages what docker compose made without recreating it (same
// names, labels and config hash).
func TestComposeInterchangeWithDockerCompose(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	dc := composePlugin(t, d)
	f := writeProject(t, `
services:
  web:
    image: busybox
    command: ["sleep", "600"]
    stop_grace_period: 1s
    environment: {A: "1"}
    volumes: [data:/data]
volumes:
  data: {}
`)
	p := []string{"compose", "-f", f, "-p", "ix"}
	defer b.Run(t, append(p, "down", "-v")...)
	b.Must(t, append(p, "up", "-d")...)
	id := b.Must(t, "inspect", "-f", "{{.Id}}", "ix-web-1")
	if out := dc.Must(t, "compose", "ls"); !strings.Contains(out, "ix") || !strings.Contains(out, "running(1)") {
		t.Fatalf("docker compose ls: %q", out)
	}
	if out := dc.Must(t, "compose", "-p", "ix", "ps", "--format", "{{.Name}} {{.Service}}"); out != "ix-web-1 web" {
		t.Fatalf("docker compose ps: %q", out)
	}
	// same config hash: docker compose up finds nothing to recreate
	dc.Must(t, append(p, "up", "-d")...)
	if got := b.Must(t, "inspect", "-f", "{{.Id}}", "ix-web-1"); got != id {
		t.Fatal("docker compose recreated a container berth compose made from the same file")
	}
	dc.Must(t, append(p, "down", "-v")...)
	if out := b.Must(t, "ps", "-aq"); out != "" {
		t.Fatalf("containers left after docker compose down: %q", out)
	}
	if out := b.Must(t, "network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "ix_default") {
		t.Fatalf("network left: %q", out)
	}
	if out := b.Must(t, "volume", "ls", "-q"); strings.Contains(out, "ix_data") {
		t.Fatalf("volume left: %q", out)
	}

	// and the other way round
	dc.Must(t, append(p, "up", "-d")...)
	id = b.Must(t, "inspect", "-f", "{{.Id}}", "ix-web-1")
	b.Must(t, append(p, "up", "-d")...)
	if got := b.Must(t, "inspect", "-f", "{{.Id}}", "ix-web-1"); got != id {
		t.Fatal("berth compose recreated a container docker compose made from the same file")
	}
	if out := b.Must(t, append(p, "ps", "-q")...); !strings.HasPrefix(id, out) || out == "" {
		t.Fatalf("berth compose ps -q %q, want prefix of %s", out, id)
	}
	b.Must(t, append(p, "down", "-v")...)
	if out := b.Must(t, "ps", "-aq"); out != "" {
		t.Fatalf("containers left after berth compose down: %q", out)
	}
}
