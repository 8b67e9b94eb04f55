package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Attached `up` prints every container's output behind compose's
// `name-N  | ` prefixes, reports exits, and --exit-code-from returns the
// chosen service's status after stopping the rest.
func TestComposeAttachedUpExitCodeFrom(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	f := writeProject(t, `
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo web-ready; exec sleep 600"]
    stop_grace_period: 1s
  job:
    image: busybox
    command: ["sh", "-c", "echo line-one; echo line-two >&2; exit 3"]
  flaky:
    image: busybox
    command: ["sh", "-c", "echo flaky-run; sleep 1; exit 1"]
    restart: on-failure:2
    profiles: [flaky]
`)
	p := []string{"compose", "-f", f, "-p", "att"}
	defer b.Run(t, append(p, "down")...)
	r := b.Run(t, append(p, "up", "--exit-code-from", "job")...)
	if r.Exit != 3 {
		t.Fatalf("want exit 3 from job: %s", r)
	}
	for _, want := range []string{"Attaching to job-1, web-1\n", "job-1  | line-one\n", "job-1  | line-two\n", "job-1 exited with code 3\n"} {
		if !strings.Contains(r.Stdout, want) {
			t.Fatalf("stdout lacks %q: %s", want, r)
		}
	}
	if !strings.Contains(r.Stderr, "Aborting on container exit...") {
		t.Fatalf("stderr: %s", r)
	}
	// the other service was stopped by the abort
	if st := b.Must(t, "inspect", "-f", "{{.State.Status}}", "att-web-1"); st != "exited" {
		t.Fatalf("web after abort: %s", st)
	}
	if r := b.Run(t, append(p, "up", "-d", "--exit-code-from", "job")...); r.Exit == 0 || !strings.Contains(r.Stderr, "--detach cannot be combined with --abort-on-container-exit") {
		t.Fatalf("-d with --exit-code-from: %s", r)
	}
	if r := b.Run(t, append(p, "up", "--exit-code-from", "nosuch")...); r.Exit == 0 || !strings.Contains(r.Stderr, "no such service: nosuch") {
		t.Fatalf("--exit-code-from nosuch: %s", r)
	}

	// a restart policy's restarts are followed until the container stays down
	r = b.Run(t, append([]string{"compose", "-f", f, "-p", "att", "--profile", "flaky"}, "up", "flaky")...)
	if r.Exit != 0 || strings.Count(r.Stdout, "flaky-1  | flaky-run") != 3 ||
		strings.Count(r.Stdout, "flaky-1 exited with code 1 (restarting)") != 2 || !strings.Contains(r.Stdout, "flaky-1 exited with code 1\n") {
		t.Fatalf("up flaky: %s", r)
	}

	// without abort flags, up returns once every container exited, 0
	r = b.Run(t, append(p, "up", "job")...)
	if r.Exit != 0 || !strings.Contains(r.Stdout, "job-1  | line-one") || strings.Contains(r.Stdout, "web-1  |") {
		t.Fatalf("up job: %s", r)
	}
}

// Ctrl-C on an attached `up` stops the project gracefully and exits 130,
// with coloured prefixes on a terminal.
func TestComposeAttachedUpCtrlC(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	f := writeProject(t, `
services:
  web:
    image: busybox
    command: ["sh", "-c", "trap 'echo got-term; exit 0' TERM; echo web-ready; while true; do sleep 1; done"]
  api:
    image: busybox
    command: ["sh", "-c", "echo api-ready; exec sleep 600"]
    stop_grace_period: 1s
`)
	p := []string{"compose", "-f", f, "-p", "ctl"}
	defer b.Run(t, append(p, "down")...)
	pt := b.StartPty(t, append(p, "up")...)
	eventually(t, 60*time.Second, func() error {
		if out := pt.Output(); !strings.Contains(out, "web-ready") || !strings.Contains(out, "api-ready") {
			return fmt.Errorf("not both ready: %q", out)
		}
		return nil
	})
	// coloured prefix: the first container (api-1) gets cyan
	if !regexp.MustCompile("\x1b\\[36mapi-1  \\| \x1b\\[0mapi-ready").MatchString(pt.Output()) {
		t.Fatalf("no coloured prefix: %q", pt.Output())
	}
	pt.Write("\x03")
	pt.Expect("Gracefully Stopping... press Ctrl+C again to force", 10*time.Second)
	pt.Expect("got-term", 30*time.Second)
	if code := pt.Wait(60 * time.Second); code != 130 {
		t.Fatalf("exit %d, want 130; output %q", code, pt.Output())
	}
	for _, n := range []string{"ctl-web-1", "ctl-api-1"} {
		if st := b.Must(t, "inspect", "-f", "{{.State.Status}}", n); st != "exited" {
			t.Fatalf("%s after Ctrl-C: %s", n, st)
		}
	}
}

// A second Ctrl-C kills what the first asked to stop gracefully.
func TestComposeAttachedUpSecondCtrlCKills(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	f := writeProject(t, `
services:
  stubborn:
    image: busybox
    command: ["sh", "-c", "trap 'echo ignoring-term' TERM; echo stubborn-ready; while true; do sleep 1; done"]
    stop_grace_period: 5m
`)
	p := []string{"compose", "-f", f, "-p", "ctl2"}
	defer b.Run(t, append(p, "down", "-t", "0")...)
	pt := b.StartPty(t, append(p, "up")...)
	pt.Expect("stubborn-ready", 60*time.Second)
	pt.Write("\x03")
	pt.Expect("ignoring-term", 30*time.Second)
	pt.Write("\x03")
	pt.Expect("stubborn-1 exited with code 137", 30*time.Second)
	if code := pt.Wait(30 * time.Second); code != 130 {
		t.Fatalf("exit %d, want 130; output %q", code, pt.Output())
	}
	if st := b.Must(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "ctl2-stubborn-1"); st != "exited 137" {
		t.Fatalf("after second Ctrl-C: %s", st)
	}
}
