package threadtrim

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestTrimEndsIdleThreads makes 20 threads (each of 20 goroutines locked to
// its own while all wait together), lets them go idle, and checks that
// Trim brings the count back near where it was.
func TestTrimEndsIdleThreads(t *testing.T) {
	Trim()
	before := Threads()
	if before == 0 {
		t.Skip("the runtime does not report its thread count")
	}
	const extra = 20
	var ready, release sync.WaitGroup
	ready.Add(extra)
	release.Add(1)
	var done sync.WaitGroup
	for i := 0; i < extra; i++ {
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread() // back to the pool, idle
			ready.Done()
			release.Wait()
		}()
	}
	ready.Wait()
	if got := Threads(); got < extra+always {
		t.Fatalf("threads %d with %d goroutines locked, want at least %d", got, extra, extra+always)
	}
	release.Done()
	done.Wait()
	peak := Threads()
	ended := Trim()
	if ended < extra-Reserve {
		t.Errorf("Trim ended %d threads, want at least %d (threads %d before the burst, %d after)", ended, extra-Reserve, before, peak)
	}
	// Threads end asynchronously after their goroutine returns.
	deadline := time.Now().Add(10 * time.Second)
	for Threads() > before+Reserve+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := Threads(); got > before+Reserve+1 {
		t.Errorf("threads %d after Trim, want at most %d (%d before the burst, %d at its peak)", got, before+Reserve+1, before, peak)
	}
}
