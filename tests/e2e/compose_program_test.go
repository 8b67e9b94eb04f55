package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestComposeProgram: `berth compose` runs berth-compose with berth's own
// arguments: global options given before `compose` still apply (here -H,
// with BERTH_HOST unset), help and exit codes come through, and without
// berth-compose the error says what is missing.
func TestComposeProgram(t *testing.T) {
	d := startDaemon(t)
	berth := filepath.Join(binDir, "berth")
	env := append(cleanEnv(), "HOME="+d.Home)

	f := writeProject(t, "services:\n  web:\n    image: busybox\n    command: sleep 1d\n")
	t.Cleanup(func() {
		d.runCmd(berth, env, nil, time.Minute, "-H", "unix://"+d.Sock, "compose", "-f", f, "-p", "cprog", "down")
	})
	r := d.runCmd(berth, env, nil, 2*time.Minute, "-H", "unix://"+d.Sock, "compose", "-f", f, "-p", "cprog", "up", "-d")
	if r.Exit != 0 {
		t.Fatalf("compose up through -H: %s", r)
	}
	out := d.Berth().Must(t, "ps", "--filter", "label=com.docker.compose.project=cprog", "--format", "{{.Names}}")
	if !strings.Contains(out, "cprog-web-1") {
		t.Fatalf("compose up made no cprog-web-1; ps: %q", out)
	}

	r = d.runCmd(berth, env, nil, time.Minute, "compose", "--help")
	if r.Exit != 0 || !strings.Contains(r.Stdout, "Usage:  berth compose") || !strings.Contains(r.Stdout, "up") {
		t.Fatalf("compose --help: %s", r)
	}
	r = d.runCmd(berth, env, nil, time.Minute, "-H", "unix://"+d.Sock, "compose", "-f", filepath.Join(t.TempDir(), "nosuch.yaml"), "up")
	if r.Exit == 0 || !strings.Contains(r.Stderr, "nosuch.yaml") {
		t.Fatalf("compose with a missing file: %s", r)
	}

	// berth alone, nothing in PATH: a clear error, exit status 1.
	alone := filepath.Join(t.TempDir(), "berth")
	data, err := os.ReadFile(berth)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	var noPath []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PATH=") {
			noPath = append(noPath, kv)
		}
	}
	r = d.runCmd(alone, append(noPath, "PATH="+t.TempDir()), nil, time.Minute, "compose", "ls")
	if r.Exit != 1 || !strings.Contains(r.Stderr, "berth-compose") {
		t.Fatalf("compose without berth-compose: %s", r)
	}
}
