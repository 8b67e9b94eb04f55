package lowprio

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDoNicesOnlyWhileRunning: f runs at niceness 19 and the thread gets
// its priority back afterwards (or stays locked to the goroutine).
func TestDoNicesOnlyWhileRunning(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs CAP_SYS_NICE to restore the priority")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		t.Skip("getpriority:", err)
	}
	var inside int
	Do(func() { inside, _ = unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid()) })
	if inside != 20-niceness {
		t.Errorf("inside Do: raw priority %d, want %d", inside, 20-niceness)
	}
	after, _ := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if after != before {
		t.Errorf("after Do: raw priority %d, want %d as before", after, before)
	}
}
