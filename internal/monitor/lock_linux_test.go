package monitor_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/monitor"
)

// TestLockHold: berthd's Hold and TryHold wait for (or give way to) a
// monitor holding the state directory's lock, and keep the next monitor
// out while they hold it; with no state directory there is nothing to
// wait for.
func TestLockHold(t *testing.T) {
	dir := t.TempDir()
	mon, err := monitor.TakeLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := monitor.TryHold(dir); ok {
		t.Fatal("TryHold succeeded while a monitor holds the lock")
	}
	held := make(chan func(), 1)
	go func() {
		release, err := monitor.Hold(context.Background(), dir)
		if err != nil {
			t.Error(err)
			release = func() {}
		}
		held <- release
	}()
	mon.Close() // the monitor's delete is over
	release := <-held
	if _, ok := monitor.TryHold(dir); ok {
		t.Fatal("TryHold succeeded while Hold holds the lock")
	}
	release()
	release, ok := monitor.TryHold(dir)
	if !ok {
		t.Fatal("TryHold failed on a free lock")
	}
	release()
	if _, ok := monitor.TryHold(filepath.Join(dir, "gone")); !ok {
		t.Fatal("TryHold without a state directory waits for a monitor")
	}
	release, err = monitor.Hold(context.Background(), filepath.Join(dir, "gone"))
	if err != nil {
		t.Fatal(err)
	}
	release()
}

// TestLockHoldCancelled: Hold gives up when its context ends while a
// monitor holds the lock (its waiter lets go of the lock once it gets it).
func TestLockHoldCancelled(t *testing.T) {
	dir := t.TempDir()
	mon, err := monitor.TakeLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := monitor.Hold(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hold with a cancelled context while a monitor holds the lock: %v", err)
	}
}
