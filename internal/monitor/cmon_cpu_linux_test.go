package monitor_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/monitor"
	"golang.org/x/sys/unix"
)

// TestMonitorRunCost compares the Go and the C monitor on the run path of
// `run --rm true`: BERTH_MONITOR_RUNCOST=N runs N pairs (one container under
// each monitor per pair, in alternating order) and logs, per monitor, the
// median wall time of Start (monitor spawned until the runtime's create is
// done) and of the whole run (Start, runtime start, Wait), and the CPU time
// (user+sys) of the run's processes this test reaped: the monitor with
// everything it reaped (runtime create and delete, the container), and the
// `runc start`. CPU time depends far less on the machine's load than wall
// time.
func TestMonitorRunCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BERTH_MONITOR_RUNCOST"))
	if n <= 0 {
		t.Skip("set BERTH_MONITOR_RUNCOST=N to compare N runs under each monitor")
	}
	withC := monitorBinary(t)
	if monitor.Binary(withC, monitor.Config{}) == withC {
		t.Skip("the C monitor is not built (BERTH_MONITOR_TEST_IMPL=go)")
	}
	// The Go monitor alone in a directory of its own: Start runs it.
	goDir := t.TempDir()
	goOnly := filepath.Join(goDir, "berth-monitor")
	b, err := os.ReadFile(withC)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goOnly, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cpu := func() time.Duration {
		var ru unix.Rusage
		unix.Getrusage(unix.RUSAGE_CHILDREN, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	type sample struct{ start, total, cpu time.Duration }
	samples := map[string][]sample{}
	one := func(name, bin string) {
		c := newContainer(t, []string{"true"}, false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c0, t0 := cpu(), time.Now()
		_, monPid, err := monitor.Start(ctx, bin, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		c.startProcess()
		if st, err := monitor.Wait(ctx, c.cfg.StateDir); err != nil || st.ExitCode != 0 {
			t.Fatalf("%s: %+v %v", name, st, err)
		}
		t2 := time.Now()
		waitGone(t, monPid)
		// The monitor is reaped by Start's pidfd waiter: its usage
		// reaches RUSAGE_CHILDREN once that happened.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat("/proc/" + strconv.Itoa(monPid)); err != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		samples[name] = append(samples[name], sample{t1.Sub(t0), t2.Sub(t0), cpu() - c0})
	}
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			one("go", goOnly)
			one("c", withC)
		} else {
			one("c", withC)
			one("go", goOnly)
		}
	}
	med := func(s []sample, f func(sample) time.Duration) time.Duration {
		v := make([]time.Duration, len(s))
		for i := range s {
			v[i] = f(s[i])
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[len(v)/2]
	}
	for _, name := range []string{"go", "c"} {
		s := samples[name]
		t.Logf("%s monitor, median of %d: Start %v, run %v, CPU %v", name, len(s),
			med(s, func(x sample) time.Duration { return x.start }).Round(10*time.Microsecond),
			med(s, func(x sample) time.Duration { return x.total }).Round(10*time.Microsecond),
			med(s, func(x sample) time.Duration { return x.cpu }).Round(10*time.Microsecond))
	}
}
