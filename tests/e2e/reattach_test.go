package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// Detach (ctrl-p ctrl-q) and re-attach 100 times to a tty shell: every
// command typed is answered, nothing is lost, the container keeps running.
func TestDetachReattach100(t *testing.T) {
	d := sharedDaemon(t, "reattach")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("rt-" + c.Name)
		c.Must(t, "run", "-dit", "--name", name, "busybox", "sh")
		start := time.Now()
		for i := 0; i < 100; i++ {
			p := c.StartPty(t, "attach", name)
			// The arithmetic keeps the typed line (echoed by the tty) from
			// matching the answer.
			p.Write(fmt.Sprintf("echo $((%d+100000))\r", i))
			p.Expect(strconv.Itoa(i+100000)+"\r\n", 10*time.Second)
			p.Write("\x10\x11")
			p.Wait(10 * time.Second)
			if t.Failed() {
				return
			}
		}
		t.Logf("%s: 100 attach/detach cycles in %v", c.Name, time.Since(start))
		if st := c.Must(t, "inspect", "--format", "{{.State.Status}}", name); st != "running" {
			t.Errorf("after 100 detaches: status %q, want running", st)
		}
		// The log holds every answer, in order.
		logs := c.Must(t, "logs", name)
		last := -1
		for i := 0; i < 100; i++ {
			idx := indexFrom(logs, strconv.Itoa(i+100000), last+1)
			if idx < 0 {
				t.Fatalf("logs lack answer %d (or it is out of order):\n%s", i+100000, logs)
			}
			last = idx
		}
		c.Must(t, "rm", "-f", name)
	})
}

func indexFrom(s, sub string, from int) int {
	if from > len(s) {
		return -1
	}
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
