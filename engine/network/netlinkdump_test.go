package network

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestRetryDumpTakesTheListingAgain(t *testing.T) {
	calls := 0
	got, err := retryDump(func() ([]int, error) {
		calls++
		if calls < 3 {
			return []int{1}, netlink.ErrDumpInterrupted
		}
		return []int{1, 2}, nil
	})
	if err != nil || len(got) != 2 || calls != 3 {
		t.Fatalf("got %v, %v after %d calls; want the complete listing after 3", got, err, calls)
	}

	calls = 0
	_, err = retryDump(func() ([]int, error) { calls++; return nil, netlink.ErrDumpInterrupted })
	if !errors.Is(err, netlink.ErrDumpInterrupted) || calls != dumpRetries {
		t.Fatalf("persistent interruption: err %v after %d calls; want it reported after %d", err, calls, dumpRetries)
	}

	other := errors.New("boom")
	calls = 0
	if _, err = retryDump(func() ([]int, error) { calls++; return nil, other }); err != other || calls != 1 {
		t.Fatalf("other error: %v after %d calls; want it returned at once", err, calls)
	}
}
