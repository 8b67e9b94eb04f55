package containers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
)

func TestHealthTimingWait(t *testing.T) {
	started := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hc := &container.HealthConfig{Interval: 30 * time.Second, StartInterval: 2 * time.Second, StartPeriod: time.Minute}
	tm := newHealthTiming(hc, started)
	for _, c := range []struct {
		since  time.Duration
		status container.HealthStatus
		want   time.Duration
	}{
		{0, container.Starting, 2 * time.Second},
		{0, container.Healthy, 30 * time.Second},
		{50 * time.Second, container.Healthy, 10 * time.Second},   // the probe that ends the start period
		{59 * time.Second, container.Starting, time.Second},       // no later than its end
		{time.Minute, container.Starting, 30 * time.Second},       // after it
		{time.Hour, container.Unhealthy, 30 * time.Second},        // a run re-adopted long after its start
		{-time.Second, container.Starting, 2 * time.Second},       // a clock stepped back
		{30 * time.Second, container.Unhealthy, 30 * time.Second}, // unhealthy in the start period
	} {
		if got := tm.wait(started.Add(c.since), c.status); got != c.want {
			t.Errorf("wait %v after the start, %s: %v, want %v", c.since, c.status, got, c.want)
		}
	}
	// Without a start interval, the interval; without an interval, 30 s.
	if got := newHealthTiming(&container.HealthConfig{StartPeriod: time.Hour}, started).wait(started, container.Starting); got != healthInterval {
		t.Errorf("default wait %v, want %v", got, healthInterval)
	}
}

func TestRecordProbeStartPeriod(t *testing.T) {
	started := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tm := newHealthTiming(&container.HealthConfig{Retries: 2, StartPeriod: time.Minute}, started)
	fail := func(at time.Duration) *container.HealthcheckResult {
		return &container.HealthcheckResult{Start: started.Add(at), ExitCode: 1}
	}
	h := &container.Health{Status: container.Starting}
	// Failures in the start period do not count while starting: the
	// period counts from the container's start, not the monitor's.
	for _, at := range []time.Duration{time.Second, 30 * time.Second, 59 * time.Second} {
		recordProbe(h, fail(at), tm)
	}
	if h.Status != container.Starting || h.FailingStreak != 0 {
		t.Fatalf("after failures in the start period: %s streak %d, want starting 0", h.Status, h.FailingStreak)
	}
	recordProbe(h, fail(61*time.Second), tm)
	if old := recordProbe(h, fail(62*time.Second), tm); old != container.Starting || h.Status != container.Unhealthy || h.FailingStreak != 2 {
		t.Fatalf("after two failures past it: %s streak %d (was %s), want unhealthy 2", h.Status, h.FailingStreak, old)
	}
	// Once healthy, failures count even in the start period.
	h = &container.Health{Status: container.Healthy}
	recordProbe(h, fail(time.Second), tm)
	if h.FailingStreak != 1 {
		t.Errorf("a failure of a healthy container in the start period: streak %d, want 1", h.FailingStreak)
	}
	for i := 0; i < 2*healthLogEntries; i++ {
		recordProbe(h, &container.HealthcheckResult{Start: started.Add(time.Duration(i) * time.Second)}, tm)
	}
	if len(h.Log) != healthLogEntries || !h.Log[healthLogEntries-1].Start.Equal(started.Add(time.Duration(2*healthLogEntries-1)*time.Second)) {
		t.Errorf("log of %d entries ending %v, want the last %d", len(h.Log), h.Log[len(h.Log)-1].Start, healthLogEntries)
	}
}

func TestLoadHealth(t *testing.T) {
	dir := t.TempDir()
	started := time.Now().UTC()
	if h := loadHealth(dir, started); h != nil {
		t.Fatalf("no file: %+v, want nil", h)
	}
	want := &container.Health{Status: container.Unhealthy, FailingStreak: 4, Log: []*container.HealthcheckResult{
		{Start: started.Add(time.Second), End: started.Add(2 * time.Second), ExitCode: 1, Output: "down\n"}}}
	write := func(v any) {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFileReplace(filepath.Join(dir, healthFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(savedHealth{StartedAt: started, Health: want})
	// The record's StartedAt comes back from JSON without its monotonic
	// reading: still the same run.
	var back time.Time
	if err := back.UnmarshalText([]byte(started.Format(time.RFC3339Nano))); err != nil {
		t.Fatal(err)
	}
	h := loadHealth(dir, back)
	if h == nil || h.Status != want.Status || h.FailingStreak != 4 || len(h.Log) != 1 || h.Log[0].Output != "down\n" || !h.Log[0].Start.Equal(want.Log[0].Start) {
		t.Fatalf("loaded %+v, want %+v", h, want)
	}
	if h := loadHealth(dir, started.Add(time.Second)); h != nil {
		t.Errorf("another run's health loaded: %+v", h)
	}
	for _, bad := range []any{savedHealth{StartedAt: started}, savedHealth{StartedAt: started, Health: &container.Health{Status: "sick"}}, "junk"} {
		write(bad)
		if h := loadHealth(dir, started); h != nil {
			t.Errorf("from %v: %+v, want nil", bad, h)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, healthFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if h := loadHealth(dir, started); h != nil {
		t.Errorf("from a torn file: %+v, want nil", h)
	}
}
