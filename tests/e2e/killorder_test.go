package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// A kill's event comes before the die event of the exit it causes, as
// Docker orders them, however soon the container exits: the exit gate
// holds the kill between its signal and its event until the container's
// process is gone, then lets it go on. (Without the order, rm -f of many
// containers at once showed "die, kill 9, destroy".)
func TestKillEventBeforeDie(t *testing.T) {
	d := startGatedDaemon(t)
	b := d.Berth()
	dk := d.Docker(t)
	for _, how := range [][]string{{"kill"}, {"rm", "-f"}} {
		t.Run(strings.Join(how, " "), func(t *testing.T) {
			name := uniq("killorder")
			id := b.Must(t, "run", "-d", "--name", name, "busybox", "sleep", "1d")
			defer b.Run(t, "rm", "-f", name)
			pid := b.Must(t, "inspect", "--format", "{{.State.Pid}}", name)
			g := newExitGate(t, d, name)
			since := time.Now()
			res := runAsync(t, b, append(how, name)...)
			g.waitStep("signalled")
			waitFor(t, 20*time.Second, "the container's process to end", func() bool {
				_, err := os.Stat("/proc/" + pid)
				return os.IsNotExist(err)
			})
			g.release("ok")
			if r := <-res; r.Exit != 0 {
				t.Fatalf("%s: %s", how, r)
			}
			var seq []string
			eventually(t, 20*time.Second, func() error {
				seq = nil
				for _, e := range eventsBetween(t, dk, since, time.Now(), "type=container", "container="+id) {
					if e.Action == "kill" || e.Action == "die" {
						seq = append(seq, e.Action)
					}
				}
				if len(seq) < 2 {
					return fmt.Errorf("events: %v", seq)
				}
				return nil
			})
			if got := strings.Join(seq, ", "); got != "kill, die" {
				t.Errorf("events of %s: %s, want kill, die", how, got)
			}
		})
	}
}
