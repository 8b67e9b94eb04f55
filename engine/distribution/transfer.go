package distribution

import (
	"context"
	"errors"
	"sync"
)

// forEachLimited runs fn(ctx, 0) ... fn(ctx, n-1), started in that order,
// at most jobs at once, as Docker's transfer managers do for layer
// downloads and uploads; the first failure cancels the rest. It returns
// the first error in index order that is not a cancellation, else the
// first error at all (the caller's context ending).
func forEachLimited(ctx context.Context, n, jobs int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, max(jobs, 1))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if errs[i] = fn(ctx, i); errs[i] != nil {
				cancel()
			}
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
