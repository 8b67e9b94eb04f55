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
	bad := writeProject(t, "services:\n  x:\n    build:\n      context: .\n      cache_from: [busybox]\n")
	if r := b.Run(t, "compose", "-f", bad, "-p", "bdbad", "up", "-d"); r.Exit == 0 || !strings.Contains(r.Stderr, "build.cache_from") {
		t.Fatalf("cache_from: %s", r)
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
