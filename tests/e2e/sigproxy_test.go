package e2e

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// An attached `run` proxies the signals its CLI gets to the container
// (--sig-proxy, on by default), real-time ones included, with both CLIs. (Detached, the CLI proxies
// nothing, as docker's: it ends once the container has started.)
func TestRunSigProxy(t *testing.T) {
	d := sharedDaemon(t, "core")
	for _, c := range []CLI{d.Berth(), d.Docker(t)} {
		name := uniq("sigproxy-" + c.Name)
		cmd, lines := c.StartLines(t, context.Background(), "run", "--name", name, "busybox", "sh", "-c",
			`trap "echo got-term" TERM; trap "echo got-rt" 35; echo ready; while true; do sleep 0.1; done`)
		waitLine(t, lines, "ready")
		cmd.Process.Signal(syscall.SIGTERM)
		waitLine(t, lines, "got-term")
		// A real-time signal (SIGRTMIN+1) is proxied too, as docker's.
		cmd.Process.Signal(syscall.Signal(35))
		waitLine(t, lines, "got-rt")
		c.Must(t, "rm", "-f", name)
		cmd.Wait()
	}
}

// waitLine waits (up to 30 s) for the line want on lines.
func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", want)
			}
			if l == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within 30 s", want)
		}
	}
}
