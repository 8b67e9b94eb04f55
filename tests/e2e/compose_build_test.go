package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// build: sections go through berth's classic builder, tagged with compose's
// default name; up --build rebuilds and recreates the service; down --rmi
// local removes the image compose named.
func TestComposeBuild(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	f := writeProject(t, `
services:
  app:
    build:
      context: .
      dockerfile: app.Dockerfile
      args: {MSG: "${MSG:-first}"}
      labels: {org.example.kind: demo}
    command: ["sh", "-c", "cat /msg; exec sleep 600"]
    stop_grace_period: 1s
  plain:
    image: busybox
    command: ["sleep", "600"]
    stop_grace_period: 1s
`)
	dir := filepath.Dir(f)
	if err := os.WriteFile(filepath.Join(dir, "app.Dockerfile"), []byte("FROM busybox\nARG MSG\nRUN echo \"$MSG\" > /msg\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := []string{"compose", "-f", f, "-p", "bd"}
	defer b.Run(t, append(p, "down", "--rmi", "local")...)
	b.Must(t, append(p, "build")...)
	if got := b.Must(t, "image", "inspect", "-f", `{{index .Config.Labels "com.docker.compose.image.builder"}} {{index .Config.Labels "org.example.kind"}}`, "bd-app"); got != "classic demo" {
		t.Fatalf("built image labels %q", got)
	}
	b.Must(t, append(p, "up", "-d")...)
	if out := b.Must(t, append(p, "exec", "-T", "app", "cat", "/msg")...); out != "first" {
		t.Fatalf("built content %q", out)
	}
	if img := b.Must(t, "inspect", "-f", "{{.Config.Image}}", "bd-app-1"); img != "bd-app" {
		t.Fatalf("container image %q", img)
	}
	idApp := b.Must(t, "inspect", "-f", "{{.Id}}", "bd-app-1")
	idPlain := b.Must(t, "inspect", "-f", "{{.Id}}", "bd-plain-1")

	// a new build arg: up --build rebuilds and recreates app only
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("MSG=second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Must(t, append(p, "up", "-d", "--build")...)
	if out := b.Must(t, append(p, "exec", "-T", "app", "cat", "/msg")...); out != "second" {
		t.Fatalf("rebuilt content %q", out)
	}
	if id := b.Must(t, "inspect", "-f", "{{.Id}}", "bd-app-1"); id == idApp {
		t.Fatal("app not recreated on its new image")
	}
	if id := b.Must(t, "inspect", "-f", "{{.Id}}", "bd-plain-1"); id != idPlain {
		t.Fatal("plain recreated though unchanged")
	}

	// an unsupported build key is refused by name, nothing built
	bad := writeProject(t, "services:\n  x:\n    build:\n      context: .\n      no_cache_filter: [a]\n")
	if r := b.Run(t, "compose", "-f", bad, "-p", "bdbad", "up", "-d"); r.Exit == 0 || !strings.Contains(r.Stderr, "build.no_cache_filter") {
		t.Fatalf("no_cache_filter: %s", r)
	}

	if r := b.Run(t, append(p, "down", "--rmi", "bogus")...); r.Exit == 0 || !strings.Contains(r.Stderr, `invalid value for --rmi: "bogus"`) {
		t.Fatalf("--rmi bogus: %s", r)
	}
	b.Must(t, append(p, "down", "--rmi", "local")...)
	if r := b.Run(t, "image", "inspect", "bd-app"); r.Exit == 0 {
		t.Fatal("bd-app left after down --rmi local")
	}
	if r := b.Run(t, "image", "inspect", "busybox"); r.Exit != 0 {
		t.Fatal("down --rmi local removed busybox, an image with a custom tag")
	}
}

// `berth compose build` gives a service's build.ssh (a real ssh-agent),
// build.secrets (a file and an environment secret) and a local
// build.cache_to to BuildKit over a client session, as `berth build`.
func TestComposeBuildSession(t *testing.T) {
	sock, key := startSSHAgent(t)
	d := startDaemon(t)
	b := d.Berth()
	f := writeProject(t, `
services:
  app:
    build:
      context: .
      ssh: [default]
      secrets: [tok, {source: fromenv, target: envtok}]
      cache_to: ["type=local,dest=./cache"]
secrets:
  tok: {file: ./tok.txt}
  fromenv: {environment: E2E_COMPOSE_SECRET}
`)
	dir := filepath.Dir(f)
	want := agentList(t, dir, key)
	writeFiles(t, dir, map[string]string{"tok.txt": "file-secret-e2e", "Dockerfile": "FROM busybox\nCOPY agentlist /agentlist\n" +
		"RUN --mount=type=ssh /agentlist > /keys\n" +
		"RUN --mount=type=secret,id=tok --mount=type=secret,id=envtok cat /run/secrets/tok /run/secrets/envtok > /secrets\n"})
	p := []string{"compose", "-f", f, "-p", "bcs"}
	defer b.Run(t, append(p, "down", "--rmi", "local")...)
	env := append(b.Env(), "SSH_AUTH_SOCK="+sock, "E2E_COMPOSE_SECRET=env-secret-e2e")
	if r := d.runCmd(b.Path(), env, nil, buildLimit, append(p, "build")...); r.Exit != 0 {
		t.Fatalf("compose build: %s\n%s", r, d.LogTail(30))
	}
	if got := b.Must(t, "run", "--rm", "bcs-app", "cat", "/secrets"); got != "file-secret-e2eenv-secret-e2e" {
		t.Errorf("the build's secrets: %q", got)
	}
	if got := b.Must(t, "run", "--rm", "bcs-app", "cat", "/keys"); !strings.Contains(got, want) {
		t.Errorf("the build's ssh agent lists %q, want the key %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "cache", "index.json")); err != nil {
		t.Errorf("build.cache_to type=local wrote no cache: %v", err)
	}
	// Without the agent the ssh build cannot start: the option is not dropped.
	r := d.runCmd(b.Path(), append(b.Env(), "SSH_AUTH_SOCK=", "E2E_COMPOSE_SECRET=x"), nil, buildLimit, append(p, "build", "--no-cache")...)
	if r.Exit == 0 || !strings.Contains(r.Stderr, "SSH_AUTH_SOCK") {
		t.Errorf("build.ssh without an agent: %s", r)
	}
}
