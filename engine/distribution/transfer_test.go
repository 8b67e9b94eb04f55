package distribution

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestForEachLimited(t *testing.T) {
	var running, peak atomic.Int32
	err := forEachLimited(context.Background(), 8, 3, func(ctx context.Context, i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		return nil
	})
	if err != nil || peak.Load() > 3 {
		t.Fatalf("err %v, peak %d jobs (limit 3)", err, peak.Load())
	}

	// The first real failure is the answer, not the cancellations it
	// caused in the others.
	boom := errors.New("boom")
	err = forEachLimited(context.Background(), 4, 4, func(ctx context.Context, i int) error {
		if i == 2 {
			return boom
		}
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}

	// A caller's cancellation ends it with that cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var started atomic.Int32
	err = forEachLimited(ctx, 5, 1, func(ctx context.Context, i int) error {
		started.Add(1)
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v (%d started)", err, started.Load())
	}
}
