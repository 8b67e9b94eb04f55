package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

var fullID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// The README's first steps: run, ps, start again, rm, a background
// container with attach/logs/stop, and an interactive shell.
func TestWalkthrough(t *testing.T) {
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("walk-" + c.Name)
		if r := c.Run(t, "run", "--name", name, "busybox", "true"); r.Exit != 0 || r.Stdout != "" {
			t.Fatalf("run busybox true: %s; want exit 0 and no output", r)
		}
		id := c.Must(t, "inspect", "--format", "{{.Id}}", name)
		if !fullID.MatchString(id) {
			t.Fatalf("inspect --format {{.Id}}: %q, want 64 hex digits", id)
		}
		ps := c.Must(t, "ps", "-a", "--filter", "name="+name)
		if !strings.Contains(ps, id[:12]) || !strings.Contains(ps, "Exited (0)") {
			t.Errorf("ps -a after run: want %s with Exited (0):\n%s", id[:12], ps)
		}
		if out := c.Must(t, "start", id); out != id {
			t.Errorf("start %s printed %q, want the argument back", id, out)
		}
		if out := c.Must(t, "wait", id); out != "0" {
			t.Errorf("wait after start: %q, want 0", out)
		}
		if out := c.Must(t, "rm", id); out != id {
			t.Errorf("rm %s printed %q, want the argument back", id, out)
		}
		if ps := c.Must(t, "ps", "-aq", "--filter", "name="+name); ps != "" {
			t.Errorf("ps -a after rm still lists it: %q", ps)
		}

		// A background container: SIGTERM ends it (sh as PID 1 needs a trap).
		bg := uniq("tick-" + c.Name)
		bgID := c.Must(t, "run", "-d", "--name", bg, "busybox", "sh", "-c",
			`trap "exit 0" TERM; while true; do echo tick; sleep 0.1; done`)
		if !fullID.MatchString(bgID) {
			t.Fatalf("run -d printed %q, want a 64-hex ID", bgID)
		}
		p := c.StartPty(t, "attach", bg)
		p.Expect("tick", 10*time.Second)
		p.Expect("tick", 5*time.Second)
		p.Kill() // a client that goes away must not hurt the container
		if st := c.Must(t, "inspect", "--format", "{{.State.Status}}", bg); st != "running" {
			t.Errorf("after the attach client was killed: status %q, want running", st)
		}
		if logs := c.Must(t, "logs", bg); strings.Count(logs, "tick") < 2 {
			t.Errorf("logs: want ticks, got %q", logs)
		}
		start := time.Now()
		if out := c.Must(t, "stop", bg); out != bg {
			t.Errorf("stop printed %q, want %q", out, bg)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("stop took %v: the TERM trap should end it at once", el)
		}
		if code := c.Must(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", bg); code != "exited 0" {
			t.Errorf("after stop: %q, want \"exited 0\"", code)
		}
		c.Must(t, "rm", bg)
	})
}

func TestInteractiveShell(t *testing.T) {
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("sh1-" + c.Name)
		p := c.StartPty(t, "run", "--rm", "-it", "--name", name, "busybox", "sh")
		p.Expect("# ", 10*time.Second)
		p.Write("echo hi-$((1+1))\r")
		p.Expect("hi-2", 5*time.Second)
		p.Write("tty\r")
		p.Expect("/dev/pts/", 5*time.Second)
		p.Write("exit\r")
		if code := p.Wait(10 * time.Second); code != 0 {
			t.Errorf("run -it ... sh, then exit: client exit code %d, want 0; output %q", code, p.Output())
		}
		eventually(t, 5*time.Second, func() error {
			if out := c.Must(t, "ps", "-aq", "--filter", "name="+name); out != "" {
				return fmt.Errorf("--rm container %s still listed by ps -a: %q", name, out)
			}
			return nil
		})
	})
}

// An interactive shell's exit code becomes the client's.
func TestInteractiveExitCode(t *testing.T) {
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		p := c.StartPty(t, "run", "--rm", "-it", "busybox", "sh")
		p.Expect("# ", 10*time.Second)
		p.Write("exit 4\r")
		if code := p.Wait(10 * time.Second); code != 4 {
			t.Errorf("run -it busybox sh; exit 4: client exit code %d, want 4", code)
		}
	})
}
