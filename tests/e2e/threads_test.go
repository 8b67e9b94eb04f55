package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threadsOf is the number of OS threads of process pid.
func threadsOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/PID/status")
	return 0
}

// TestThreadsReturnAfterBurst runs containers, removes them all at once
// (the docker CLI sends the removals in parallel: unmounts, directory
// removals and netlink calls that each block an OS thread) and waits for
// berthd to come back near its fresh number of threads. Go never ends an
// idle thread by itself; berthd does once a burst of removals is over.
func TestThreadsReturnAfterBurst(t *testing.T) {
	d := startDaemon(t)
	dk := d.Docker(t)
	fresh := threadsOf(t, d.Pid())
	const n = 24
	var names []string
	for i := range n {
		name := fmt.Sprintf("thr%d", i)
		dk.Must(t, "run", "-d", "--name", name, "busybox", "sleep", "300")
		names = append(names, name)
	}
	dk.Must(t, append([]string{"rm", "-f"}, names...)...)
	peak := threadsOf(t, d.Pid())
	// Two idle threads are kept for the next blocking calls; two more of
	// slack for threads a fresh berthd had not started yet.
	limit := fresh + 4
	eventually(t, 60*time.Second, func() error {
		if got := threadsOf(t, d.Pid()); got > limit {
			return fmt.Errorf("berthd has %d threads, want at most %d (%d fresh, %d right after rm -f)", got, limit, fresh, peak)
		}
		return nil
	})
}
