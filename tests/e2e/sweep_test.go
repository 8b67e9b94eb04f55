package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/tests/internal/daemontest"
)

func TestRunPidOf(t *testing.T) {
	for net, want := range map[string]int{"7140x3": 7140, "12x0": 12} {
		if pid, ok := runPidOf(net); !ok || pid != want {
			t.Errorf("runPidOf(%q) = %d, %v; want %d", net, pid, ok, want)
		}
	}
	for _, net := range []string{"", "x1", "12x", "abcx1", "12x1y", "-3x1", "0x1", "12-3"} {
		if pid, ok := runPidOf(net); ok {
			t.Errorf("runPidOf(%q) = %d, true; want not a run's Net", net, pid)
		}
	}
}

// TestSweepStaleRuns: the bridge and chains (with a jump to them from a
// built-in chain) of a daemon whose e2e run was killed are swept, those of
// a live run's daemon are not.
func TestSweepStaleRuns(t *testing.T) {
	requireEnv(t)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("%dx999", gone.Process.Pid)
	live := fmt.Sprintf("%dx999", os.Getpid())
	for _, n := range []string{dead, live} {
		t.Cleanup(func() { daemontest.RemoveNetwork("bt"+n, "BT"+n) })
		hostCmd(t, "ip", "link", "add", "bt"+n, "type", "bridge")
		hostCmd(t, "iptables", "-t", "nat", "-N", "BT"+n)
		// Inert: a jump for a destination nothing uses, to an empty chain.
		hostCmd(t, "iptables", "-t", "nat", "-A", "PREROUTING", "-d", "127.255.255.254/32", "-j", "BT"+n)
	}
	if stale := staleRunNets(); !slices.Contains(stale, dead) || slices.Contains(stale, live) {
		t.Fatalf("stale Nets %v: want %s in, %s out", stale, dead, live)
	}
	sweepStaleRuns()
	if l := daemontest.LinksWithPrefix("bt" + dead); len(l) > 0 {
		t.Errorf("killed run's bridge left: %v", l)
	}
	if c := daemontest.ChainsWithPrefix("BT" + dead); len(c) > 0 {
		t.Errorf("killed run's chains left: %v", c)
	}
	if out, _ := exec.Command("iptables", "-t", "nat", "-S", "PREROUTING").Output(); strings.Contains(string(out), "BT"+dead) {
		t.Errorf("jump to the killed run's chain left:\n%s", out)
	}
	if len(daemontest.LinksWithPrefix("bt"+live)) != 1 || len(daemontest.ChainsWithPrefix("BT"+live)) != 1 {
		t.Errorf("a live run's bridge or chain was swept")
	}
}

func hostCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
