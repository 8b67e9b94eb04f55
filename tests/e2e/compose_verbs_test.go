package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exec, run, port, top, images, cp, events and wait act on the service's
// containers as docker compose's do.
func TestComposeExecRunAndFriends(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	f := writeProject(t, `
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hi-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1::80"]
    environment: {GREETING: hello}
    stop_grace_period: 1s
  job:
    image: busybox
    command: ["sh", "-c", "exit 5"]
`)
	p := []string{"compose", "-f", f, "-p", "vb"}
	defer b.Run(t, append(p, "down")...)
	since := time.Now().Add(-time.Second).Format(time.RFC3339Nano)
	b.Must(t, append(p, "up", "-d")...)

	// exec: env, user, workdir, exit status, --index
	out := b.Must(t, append(p, "exec", "-T", "-e", "FOO=bar", "-u", "1000", "-w", "/tmp", "web", "sh", "-c", "echo $GREETING $FOO; id -u; pwd")...)
	if out != "hello bar\n1000\n/tmp" {
		t.Fatalf("exec output %q", out)
	}
	if r := b.Run(t, append(p, "exec", "-T", "web", "sh", "-c", "exit 7")...); r.Exit != 7 {
		t.Fatalf("exec exit status: %s", r)
	}
	if r := b.Run(t, append(p, "exec", "-T", "--index", "2", "web", "true")...); r.Exit == 0 || !strings.Contains(r.Stderr, `service "web" is not running container #2`) {
		t.Fatalf("exec --index 2: %s", r)
	}

	// on a terminal exec and run allocate a TTY by default, -T none
	for _, verb := range [][]string{{"exec", "web"}, {"run", "--rm", "web"}} {
		pt := b.StartPty(t, append(append(p, verb...), "tty")...)
		pt.Expect("/dev/pts/", 60*time.Second)
		if code := pt.Wait(60 * time.Second); code != 0 {
			t.Fatalf("%v tty: exit %d: %q", verb, code, pt.Output())
		}
	}
	if r := b.Run(t, append(p, "exec", "-T", "web", "tty")...); r.Exit == 0 || !strings.Contains(r.Stdout, "not a tty") {
		t.Fatalf("exec -T tty: %s", r)
	}

	// run --rm: a one-off container reaching the service by name, then gone
	if out := b.Must(t, append(p, "run", "--rm", "-T", "web", "wget", "-q", "-O-", "http://web/")...); out != "hi-from-web" {
		t.Fatalf("run --rm output %q", out)
	}
	if out := b.Must(t, "ps", "-aq", "--filter", "label=com.docker.compose.oneoff=True"); out != "" {
		t.Fatalf("run --rm left %q", out)
	}
	if out := b.Must(t, append(p, "run", "--rm", "-T", "-e", "X=from-e", "--entrypoint", "sh -c", "web", "echo $X $GREETING")...); out != "from-e hello" {
		t.Fatalf("run -e --entrypoint: %q", out)
	}
	if r := b.Run(t, append(p, "run", "--rm", "-T", "web", "sh", "-c", "exit 3")...); r.Exit != 3 {
		t.Fatalf("run exit status: %s", r)
	}
	// run -d: oneoff label, compose's name, no published ports by default
	id := b.Must(t, append(p, "run", "-d", "web", "sleep", "600")...)
	got := b.Must(t, "inspect", "-f", `{{.Name}} {{index .Config.Labels "com.docker.compose.oneoff"}} {{index .Config.Labels "com.docker.compose.service"}} {{len .HostConfig.PortBindings}}`, id)
	if !regexp.MustCompile(`^/vb-web-run-[0-9a-f]{12} True web 0$`).MatchString(got) {
		t.Fatalf("run -d container: %q", got)
	}
	b.Must(t, "rm", "-f", id)
	id = b.Must(t, append(p, "run", "-d", "--name", "vb-custom", "--service-ports", "web")...)
	if got := b.Must(t, "inspect", "-f", "{{.Name}} {{len .HostConfig.PortBindings}}", id); got != "/vb-custom 1" {
		t.Fatalf("run --name --service-ports: %q", got)
	}
	b.Must(t, "rm", "-f", id)

	// port, top, images
	hostPort := b.Must(t, append(p, "port", "web", "80")...)
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(hostPort) {
		t.Fatalf("port: %q", hostPort)
	}
	if r := b.Run(t, append(p, "port", "web", "81")...); r.Exit == 0 || !strings.Contains(r.Stderr, "no port 81/tcp for container vb-web-1: 80/tcp") {
		t.Fatalf("port 81: %s", r)
	}
	if out := b.Must(t, append(p, "top", "web")...); !strings.HasPrefix(out, "SERVICE") || !strings.Contains(out, "httpd") {
		t.Fatalf("top: %q", out)
	}
	if out := b.Must(t, append(p, "images")...); !strings.Contains(out, "vb-web-1") || !strings.Contains(out, "busybox") {
		t.Fatalf("images: %q", out)
	}

	// cp both ways
	local := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(local, []byte("copied\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Must(t, append(p, "cp", local, "web:/tmp/f.txt")...)
	if out := b.Must(t, append(p, "exec", "-T", "web", "cat", "/tmp/f.txt")...); out != "copied" {
		t.Fatalf("cp in: %q", out)
	}
	back := filepath.Join(t.TempDir(), "back.txt")
	b.Must(t, append(p, "cp", "web:/tmp/f.txt", back)...)
	if data, err := os.ReadFile(back); err != nil || string(data) != "copied\n" {
		t.Fatalf("cp out: %q %v", data, err)
	}

	// wait returns the service's exit status
	r := b.Run(t, append(p, "wait", "job")...)
	if r.Exit != 5 || !strings.Contains(r.Stdout, "exited with status code 5") {
		t.Fatalf("wait job: %s", r)
	}

	// events --json replays the project's container events
	out = b.Must(t, append(p, "events", "--json", "--since", since, "--until", time.Now().Add(time.Second).Format(time.RFC3339Nano))...)
	if !strings.Contains(out, `"action":"start"`) || !strings.Contains(out, `"service":"web"`) || strings.Contains(out, "com.docker.compose.") {
		t.Fatalf("events: %q", out)
	}
}

// create makes the containers without starting them.
func TestComposeCreate(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	f := writeProject(t, "services:\n  a:\n    image: busybox\n    command: [\"sleep\", \"600\"]\n")
	p := []string{"compose", "-f", f, "-p", "cr"}
	defer b.Run(t, append(p, "down")...)
	b.Must(t, append(p, "create")...)
	if st := b.Must(t, "inspect", "-f", "{{.State.Status}}", "cr-a-1"); st != "created" {
		t.Fatalf("after create: %s", st)
	}
}
