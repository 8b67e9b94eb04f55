package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/engine/runtime"
)

// A start stuck in its runtime (here a runtime whose create waits at the
// test's gate) holds its container's lock: ps and docker ps still answer,
// and show that container as it was (created) beside the others.
func TestPsBesideStuckStart(t *testing.T) {
	requireEnv(t)
	crun := runtime.LeanCrunPath
	if _, err := os.Stat(crun); err != nil {
		if crun, err = exec.LookPath("crun"); err != nil {
			t.Skip("no crun")
		}
	}
	d := newStoppedDaemon(t)
	gates := filepath.Join(d.Root, "gate")
	if err := os.Mkdir(gates, 0o700); err != nil {
		t.Fatal(err)
	}
	name := uniq("stuck")
	gate := filepath.Join(gates, name)
	script := filepath.Join(d.Root, "hang-runtime")
	// crun, but a create waits while the gate is there, until the test
	// writes to it. The monitor asks for "run --detach" instead of
	// "create" when the start came before it launched the runtime (under
	// load): that waits too.
	body := fmt.Sprintf("#!/bin/sh\nfor a; do\n\tif { [ \"$a\" = create ] || [ \"$a\" = run ]; } && [ -p %[1]q ]; then\n\t\t: >%[1]q.reached\n\t\tcat %[1]q >/dev/null\n\tfi\ndone\nexec %[2]q \"$@\"\n", gate, crun)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	d.addConfig(t, map[string]any{"runtimes": map[string]any{"hang": map[string]any{"path": script}}})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	b := d.Berth()
	other := uniq("beside")
	b.Must(t, "run", "-d", "--name", other, "busybox", "sleep", "1d")
	g := newPrepGate(t, d, name)
	res := runAsync(t, b, "run", "-d", "--runtime", "hang", "--name", name, "busybox", "sleep", "1d")
	g.waitStep("reached")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		if ps := c.Must(t, "ps", "-a", "--filter", "name="+name, "--format", "{{.Names}} {{.State}}"); ps != name+" created" {
			t.Errorf("ps -a beside the stuck start: %q, want %q", ps, name+" created")
		}
		if ps := c.Must(t, "ps", "--format", "{{.Names}}"); ps != other {
			t.Errorf("ps beside the stuck start: %q, want %q", ps, other)
		}
	})
	g.release("ok")
	if r := <-res; r.Exit != 0 {
		t.Fatalf("run once the runtime went on: %s", r)
	}
	if ps := b.Must(t, "ps", "--filter", "name="+name, "--format", "{{.Names}} {{.State}}"); ps != name+" running" {
		t.Errorf("ps after the start: %q, want %q", ps, name+" running")
	}
	b.Must(t, "rm", "-f", name, other)
}
