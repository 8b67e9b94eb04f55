package slackmon

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/sysmonslack"
)

// TestMonitorSlack checks the package's initialisation (which ran in this
// test binary too) gave the runtime's monitor thread, the process's first
// thread after the main one, the slack, and left the main thread's alone.
func TestMonitorSlack(t *testing.T) {
	first, err := sysmonslack.Thread()
	if err != nil {
		t.Skip("no monitor thread found:", err)
	}
	got, err := os.ReadFile("/proc/" + strconv.Itoa(first) + "/timerslack_ns")
	if err != nil {
		t.Skip("no timerslack_ns:", err)
	}
	want := strconv.FormatInt(slack.Nanoseconds(), 10)
	if s := strings.TrimSpace(string(got)); s != want {
		if os.Geteuid() != 0 {
			t.Skipf("monitor thread's slack %s, not %s: not root, it cannot be set", s, want)
		}
		t.Fatalf("monitor thread %d's slack %s, want %s", first, s, want)
	}
	main, err := os.ReadFile("/proc/self/timerslack_ns")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(main)) == want {
		t.Errorf("the main thread's slack was changed too")
	}
}
