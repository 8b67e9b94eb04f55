package slackmon

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestMonitorSlack checks the package's initialisation (which ran in this
// test binary too) gave the runtime's monitor thread, the process's first
// thread after the main one, the slack, and left the main thread's alone.
func TestMonitorSlack(t *testing.T) {
	pid := os.Getpid()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Skip("no /proc/self/task:", err)
	}
	first := 0
	for _, e := range ents {
		// No wrap at pid_max in a test run: the lowest other ID is
		// the first thread.
		if tid, err := strconv.Atoi(e.Name()); err == nil && tid > pid && (first == 0 || tid < first) {
			first = tid
		}
	}
	if first == 0 {
		t.Skip("no thread after the main one (wrapped thread IDs)")
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
