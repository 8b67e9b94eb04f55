package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// healthState is what inspect shows of State.Health.
type healthState struct {
	Status        string
	FailingStreak int
	Log           []struct {
		Start    time.Time
		ExitCode int
	}
}

func inspectHealth(t *testing.T, c CLI, name string) healthState {
	t.Helper()
	var h healthState
	out := c.Must(t, "inspect", "--format", "{{json .State.Health}}", name)
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("inspect State.Health of %s: %q: %v", name, out, err)
	}
	return h
}

// A container kept running across a restart of berthd (a clean stop, or
// berthd killed) keeps its health and goes on being probed: the next
// berthd resumes the health monitor from the recorded state.
func TestHealthSurvivesDaemonRestart(t *testing.T) {
	for _, mode := range []string{"stop", "kill"} {
		t.Run(mode, func(t *testing.T) {
			d := startDaemon(t)
			b := d.Berth()
			b.Must(t, "run", "-d", "--name", "hc", "--health-cmd", "true", "--health-interval", "1s", "busybox", "sleep", "1d")
			eventually(t, 20*time.Second, func() error {
				if h := inspectHealth(t, b, "hc"); h.Status != "healthy" {
					return fmt.Errorf("health %+v, want healthy", h)
				}
				return nil
			})
			if mode == "kill" {
				d.Kill()
			} else if !d.Stop() {
				t.Fatal("berthd did not stop on SIGTERM within 15 s")
			}
			// No probe can run from here until the next berthd runs one.
			down := time.Now()
			if err := d.Start(); err != nil {
				t.Fatalf("restarting berthd on the same roots: %v", err)
			}
			h := inspectHealth(t, b, "hc")
			if h.Status != "healthy" || len(h.Log) == 0 || !h.Log[0].Start.Before(down) {
				t.Errorf("right after the restart: health %+v, want healthy with the log of the probes before it", h)
			}
			eventually(t, 20*time.Second, func() error {
				h := inspectHealth(t, b, "hc")
				if n := len(h.Log); h.Status != "healthy" || n == 0 || !h.Log[n-1].Start.After(down) {
					return fmt.Errorf("health %+v: no probe recorded after the restart (%v)", h, down)
				}
				return nil
			})
			if st := b.Must(t, "ps", "--filter", "name=hc", "--format", "{{.Status}}"); !strings.HasSuffix(st, "(healthy)") {
				t.Errorf("ps status after the restart %q, want ... (healthy)", st)
			}
			if ids := b.Must(t, "ps", "-q", "--filter", "health=healthy"); ids == "" {
				t.Error("ps --filter health=healthy lists nothing after the restart")
			}
			// Stopping the re-adopted run ends its healthcheck with it: no
			// health shown or filtered on, its record gone with the run.
			b.Must(t, "stop", "-t", "1", "hc")
			if ids := b.Must(t, "ps", "-aq", "--filter", "health=healthy"); ids != "" {
				t.Errorf("ps -a --filter health=healthy lists %q after the stop", ids)
			}
			id := b.Must(t, "inspect", "--format", "{{.Id}}", "hc")
			if _, err := os.Stat(filepath.Join(d.ExecRoot, "containers", id, "health.json")); !os.IsNotExist(err) {
				t.Errorf("the stopped run's health record stayed (%v)", err)
			}
			b.Must(t, "rm", "-f", "hc")
		})
	}
}
